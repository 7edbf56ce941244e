"""Phone calls through Twilio Programmable Voice: inbound calls and voicemail logged on the
customer's ticket, missed calls turned into call-back tasks, a small IVR menu routing callers
to teams, and agents placing calls from a ticket."""
