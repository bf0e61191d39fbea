"""Grids of tiles, as ``torchvision.utils.save_image`` writes them: geometry, cutting, guessing."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["GRID_MAX_PADDING", "grid_geometry", "cut_grid", "guess_grid"]

#: Largest padding (pixels) :func:`guess_grid` considers between the cells of a grid.
GRID_MAX_PADDING = 16


def grid_geometry(
    height: int, width: int, rows: int, cols: int, *, n_bins: int, padding: int | None = None
) -> tuple[int, int]:
    """(padding, tile width) of a ``rows`` × ``cols`` grid image of ``n_bins``-high tiles.

    The layout is torchvision's ``make_grid`` / ``save_image``: cells ``padding`` pixels
    apart and from the edges, so ``height = rows * (n_bins + padding) + padding`` and
    ``width = cols * (W + padding) + padding``.

    Parameters
    ----------
    height, width : int, of the grid image (pixels)
    rows, cols : int > 0
    n_bins : int, the dataset's tile height
    padding : int >= 0 or None
        None → found from ``height`` (torchvision's default is 2).

    Returns
    -------
    (int, int)

    Raises
    ------
    ParameterError
        If no padding fits, or the given one does not.

    Examples
    --------
    >>> grid_geometry(262, 1042, 2, 8, n_bins=128)
    (2, 128)
    """
    for name, v in (("rows", rows), ("cols", cols)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"grid {name}={v!r} must be a positive integer (grid=(rows, cols))")
    if padding is None:
        extra = height - rows * n_bins
        if extra < 0 or extra % (rows + 1):
            raise ParameterError(
                f"an image {height} pixels high is no grid of {rows} rows of {n_bins}-row tiles with equal "
                f"padding (torchvision.utils.save_image: height = rows × ({n_bins} + padding) + padding); "
                "check grid=(rows, cols)"
            )
        padding = extra // (rows + 1)
    elif isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ParameterError(f"grid_padding={padding!r} must be an integer >= 0")
    elif height != rows * (n_bins + padding) + padding:
        raise ParameterError(
            f"an image {height} pixels high is no grid of {rows} rows of {n_bins}-row tiles with padding {padding} "
            f"(that is {rows * (n_bins + padding) + padding} pixels high); check grid= and grid_padding="
        )
    cell = (width - padding) / cols - padding
    if cell != int(cell) or cell < 2:
        raise ParameterError(
            f"an image {width} pixels wide is no grid of {cols} columns with padding {padding} "
            f"(width = cols × (W + padding) + padding); check grid=(rows, cols)"
        )
    return int(padding), int(cell)


def cut_grid(image: np.ndarray, rows: int, cols: int, *, n_bins: int, padding: int | None = None) -> list[np.ndarray]:
    """The tiles of a grid image, row by row (``make_grid``'s order), without the padding.

    Parameters
    ----------
    image : np.ndarray [shape=(height, width)]
    rows, cols, n_bins, padding : as for :func:`grid_geometry`

    Returns
    -------
    list of np.ndarray [shape=(n_bins, W)], views of ``image``, ``rows * cols`` of them

    Examples
    --------
    >>> [t.shape for t in cut_grid(np.zeros((14, 26)), 2, 3, n_bins=4)]
    [(4, 6), (4, 6), (4, 6), (4, 6), (4, 6), (4, 6)]
    """
    p, w = grid_geometry(image.shape[0], image.shape[1], rows, cols, n_bins=n_bins, padding=padding)
    return [
        image[p + r * (n_bins + p) : p + r * (n_bins + p) + n_bins, p + c * (w + p) : p + c * (w + p) + w]
        for r in range(rows)
        for c in range(cols)
    ]


def guess_grid(height: int, width: int, n_bins: int, n_frames: int | None = None) -> str | None:
    """A hint naming the grid an image that is not ``n_bins`` high may be, or None.

    Examples
    --------
    >>> guess_grid(262, 1042, 128, 128)
    'grid=(2, 8) with padding 2 (--grid 2x8)'
    """
    for rows in range(1, height // max(n_bins, 1) + 1):
        extra = height - rows * n_bins
        if extra % (rows + 1) or not (0 < extra // (rows + 1) <= GRID_MAX_PADDING or (extra == 0 and rows > 1)):
            continue
        p = extra // (rows + 1)
        if n_frames is not None:
            cols = (width - p) / (n_frames + p)
            if cols == int(cols) and cols >= 1:
                return f"grid=({rows}, {int(cols)}) with padding {p} (--grid {rows}x{int(cols)})"
            continue
        return f"grid=({rows}, COLS) with padding {p} (--grid {rows}xCOLS)"
    return None


# ---------------------------------------------------------------------------- value range and traps
