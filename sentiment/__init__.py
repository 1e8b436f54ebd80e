"""Domain logic shared by training and serving."""
