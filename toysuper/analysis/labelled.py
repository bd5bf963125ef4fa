"""Analysis on xarray: a function of W (..., feature, hidden) that also takes a DataArray (e.g.
`ds["W"]` of a sweep) and then returns one, with the sweep's dims and coordinates kept."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from toysuper.validate import require


def keeps_dims(*out_dims: str):
    """Decorate `fn(W, ...)`: given a DataArray W with dims (..., "feature", "hidden"), it returns
    a DataArray with dims (..., *out_dims), named after `fn`, with every coordinate of W that
    lives on the dims it keeps; given an array, `fn` itself."""
    def decorate(fn):
        @functools.wraps(fn)
        def labelled(W, *args, **kwargs):
            if not isinstance(W, xr.DataArray):
                return fn(W, *args, **kwargs)
            require(W.dims[-2:] == ("feature", "hidden"), "W.dims", W.dims,
                    "(..., 'feature', 'hidden'), as a sweep's Dataset holds W")
            dims = (*W.dims[:-2], *out_dims)
            coords = {name: coord for name, coord in W.coords.items()
                      if set(coord.dims) <= set(dims)}
            return xr.DataArray(np.asarray(fn(W.values, *args, **kwargs)), dims=dims,
                                coords=coords, name=fn.__name__)

        return labelled

    return decorate
