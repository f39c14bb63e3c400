"""Figures: functions take data and an optional ``ax`` and return matplotlib artists.

They never call ``plt.show()``; axes, colour bars and scale bars are labelled
from the data's ``long_name`` and ``units`` attrs.
"""

from ._maps import map, reconstruction, style

__all__ = ["map", "reconstruction", "style"]
