// Seed 003: registered webhooks. The app calls outside endpoints by id; Weir holds the
// URLs and fills in the secret token from the installation's secure iparams, so neither
// ever reaches the app's code, the browser or the logs. Every call is audited.
exports = {
  onTicketCreateHandler: async function (payload) {
    var ticket = payload.data.ticket;
    var existing = await $webhooks.trigger('crm-search-cases', null, {}, { requester: ticket.requester_id });
    if (!existing.error && existing.data.total > 0) {
      console.log('case exists already; call', existing.referenceId);
      return;
    }
    var created = await $webhooks.trigger('crm-create-case', { subject: ticket.subject, ticket_id: ticket.id }, {}, null);
    console.log('CRM answered', created.status, 'call', created.referenceId);
  },

  // Called from the app's front end (SMI) with a base64 photo.
  sendPhoto: function (args) {
    $webhooks.trigger('upload-photo', args.photo_base64, {}, null)
      .then(function (result) {
        renderData(null, { referenceId: result.referenceId, status: result.status });
      })
      .fail(function (error) {
        renderData({ status: 400, message: error.message });
      });
  }
};
