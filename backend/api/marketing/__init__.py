"""Marketing API: saved segments, their preview, surprises and campaign results (staff)."""
