"""Shared figure helpers."""

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

INTERFERENCE_CMAP = "RdBu"  # blue positive, red negative, as in the paper's W^T W plots
IMPORTANCE_CMAP = "viridis"  # the notebook colours features by viridis(I_i)


def save_figure(fig: Figure, path: str | Path, dpi: int = 150,
                metadata: dict[str, str] | None = None) -> Path:
    """Write `fig` as a PNG (with `metadata` as text chunks, e.g. provenance) and as a vector
    PDF beside it, and close it. Returns the PNG's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=metadata)
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight",
                metadata={"Creator": (metadata or {}).get("Software", "toysuper")})
    plt.close(fig)
    return path
