"""YouTube (Data API v3): resumable video uploads, thumbnails, playlists, comments, statistics."""
