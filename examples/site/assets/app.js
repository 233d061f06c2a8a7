const status = document.getElementById('status')
status.textContent = 'Scripts run: this page was served from content-addressed blocks.'
status.className = 'ok'
