// Optional: fill the time zone from the browser. The form works without it.
try { document.getElementById('timezone').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) {}
