"""Motion representations: rotation formats and skeleton kinematics."""
