"""Paper-style figures from Result datasets; plotting never trains and never calls plt.show()."""

from toysuper.plotting.intro import plot_intro
from toysuper.plotting.phase import plot_phase_diagrams
from toysuper.plotting.style import save_figure

__all__ = ["plot_intro", "plot_phase_diagrams", "save_figure"]
