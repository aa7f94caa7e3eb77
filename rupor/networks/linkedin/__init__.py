"""LinkedIn organisation pages: Posts API, images, documents, comments, share statistics."""
