"""Paper-style figures from Result datasets; plotting never trains and never calls plt.show()."""

from toysuper.plotting.intro import plot_intro
from toysuper.plotting.style import save_figure

__all__ = ["plot_intro", "save_figure"]
