// Seed 000: external events. On install, ask Weir for this installation's target URL and
// register it as a webhook in the issue tracker; every call the tracker makes to that URL
// then runs onExternalEventHandler; on uninstall, remove the webhook again.
exports = {
  onAppInstallHandler: function (payload) {
    generateTargetUrl()
      .then(function (url) {
        var body = JSON.stringify({ name: 'Freshteam', url: url, events: ['issue_created'] });
        return $request.invokeTemplate('registerWebhook', { body: body });
      })
      .then(function (data) {
        var webhook = JSON.parse(data.response);
        return $db.set('tracker-webhook', { id: webhook.id });
      })
      .then(function () {
        renderData();
      })
      .fail(function (error) {
        renderData({ message: 'Could not register the tracker webhook: ' + error.status });
      });
  },

  onExternalEventHandler: function (payload) {
    // Older senders post the body as a JSON string; newer ones as an object.
    var data = typeof payload.data === 'string' ? JSON.parse(payload.data) : payload.data;
    console.log('issue', data.issue && data.issue.key, 'from', payload.headers['User-Agent']);
  },

  onAppUninstallHandler: function (payload) {
    $db.get('tracker-webhook')
      .then(function (webhook) {
        return $request.invokeTemplate('deregisterWebhook', { context: { webhook_id: webhook.id } });
      })
      .then(function () {
        renderData();
      }, function (error) {
        // Nothing registered, or already gone: the uninstall goes on.
        console.error('deregistering failed', error.status);
        renderData();
      });
  }
};
