"""textclean: remove text from images with a text segmenter and an inpainter."""

__version__ = "0.1.0"
