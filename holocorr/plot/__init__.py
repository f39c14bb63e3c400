"""Figures: functions take data and an optional ``ax`` and return matplotlib artists.

They never call ``plt.show()``; axes, colour bars and scale bars are labelled
from the data's ``long_name`` and ``units`` attrs.
"""

from ._maps import map, reconstruction, style
from ._summary import correlation, profiles, summary_figure

__all__ = ["map", "reconstruction", "style", "profiles", "correlation", "summary_figure"]
