"""Turning files into stored chunks: loaders → metadata → chunking → pipeline."""
