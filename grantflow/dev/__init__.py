"""Development tools: the local stack, the SMTP catcher, demo time and the rehearsal."""
