"""The portal: applicants, jury members, participants and managers act through it."""
