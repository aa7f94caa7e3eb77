"""Bluesky (AT Protocol): posts, facets, images, threads, notifications and counts."""
