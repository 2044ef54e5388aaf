"""Feedback records arrive with the feedback-loop issue; the app is in place for its migrations."""
