"""report.md: report.json's numbers as a Markdown page."""

from audio2motion.evaluation.scores import METRICS, SOURCES


def report_markdown(report: dict) -> str:
    """report.json's numbers as a Markdown page: settings, the table, notes, hardware."""
    settings = report["settings"]
    scored = settings["ckpt"] or f"the motion files in {settings['generated']}"
    lines = [
        f"# Evaluation of {scored}",
        "",
        f"{settings['clips']} clips of the {settings['split']} split of {settings['data_root']} "
        f"({settings['seconds']:.1f} s of motion at {settings['fps']:g} fps), {report['seconds']:.1f} s on "
        f"{report['hardware']}. Reference pool: {settings['reference_pool']}.",
        "",
        report["protocol"],
        "",
        "| metric | " + " | ".join(s.replace("_", " ") for s in SOURCES) + " |",
        "|---|" + "---:|" * len(SOURCES),
    ]
    metrics = report["metrics"]
    for key in (*METRICS, "correlation"):
        values = [metrics[source][key] for source in SOURCES]
        if key == "diversity":
            for part in ("kinetic", "geometric"):
                cells = [format_value(v[part] if v else None) for v in values]
                lines.append(f"| diversity ({part}) | " + " | ".join(cells) + " |")
        else:
            lines.append(f"| {key} | " + " | ".join(format_value(v) for v in values) + " |")
    if report.get("pages"):
        links = ", ".join(f"[{name}]({page})" for name, page in report["pages"].items())
        lines += ["", f"Watch and hear each clip, the generated motion beside the ground truth: {links}."]
    lines += ["", DEFINITIONS]
    if report["notes"]:
        lines += ["", "Empty cells:"] + [f"- {key}: {why}" for key, why in report["notes"].items()]
    if report["warnings"]:
        lines += ["", "Caveats:"] + [f"- {warning}" for warning in report["warnings"]]
    return "\n".join(lines) + "\n"


def format_value(value: float | None) -> str:
    """A measure for a table: four significant digits, or nothing for a null."""
    return "" if value is None else f"{value:.4g}"


DEFINITIONS = (
    "beat_alignment: Bailando's score of motion beats against music beats (higher is better); "
    "beat_consistency: EMAGE's BC, speech onsets against pauses (speed minima) of 13 upper-body joints, "
    "sigma 0.3 s (EMAGE reads higher as better; compare with the ground truth's); fid_k, fid_g: FID of "
    "the AIST++ kinetic (72) and geometric (32) features against the reference pool's, normalised by the "
    "pool's statistics (lower is better); diversity: mean distance between clips' features (near the "
    "ground truth's is better); l1_diversity: EMAGE's L1div, the L1 distance of all joints from their "
    "mean position over the clip summed, in metres, averaged over frames (near the ground truth's is "
    "better); foot_skating: fraction of frames with a grounded foot sliding; pfc: EDGE's physical foot "
    "contact score (lower is better); jerk: mean magnitude of the third derivative of joint positions, "
    "m/s^3 (channels in standard deviations/s^3 without a skeleton); nmse: squared error over the "
    "truth's variance (the mean pose is about 1); correlation: mean per-channel Pearson correlation with "
    "the truth; beat_consistency and l1_diversity weigh clips by their length, as EMAGE does."
)
