// Seed 001: Freshsales product events, as an omni app that also runs in Freshworks CRM.
// One handler serves the same event in both products; the payload says which it came from.
exports = {
  onContactCreateHandler: function (payload) {
    var contact = payload.data.contact;
    return this.announce('New contact: ' + contact.first_name + ' ' + contact.last_name, payload);
  },

  onDealUpdateHandler: function (payload) {
    var stageChange = payload.data.deal.changes && payload.data.deal.changes.model_changes &&
      payload.data.deal.changes.model_changes.deal_stage_id;
    if (!stageChange) {
      return;
    }
    var stage = payload.data.associations.deal_stage.name;
    if (payload.iparams.announce_stages.indexOf(stage) === -1) {
      return;
    }
    return this.announce('Deal "' + payload.data.deal.name + '" moved to ' + stage, payload);
  },

  onAppointmentCreateHandler: function (payload) {
    console.info('appointment', payload.data.appointment.title, 'at', payload.data.appointment.from_date);
  },

  // Not a handler: called with `this` bound to these exports.
  announce: function (text, payload) {
    var body = JSON.stringify({ text: text, source: payload.productContext && payload.productContext.name });
    return $request.invokeTemplate('notifyChannel', { body: body }).catch(function (error) {
      console.error('chat notification failed with status', error.status);
    });
  }
};
