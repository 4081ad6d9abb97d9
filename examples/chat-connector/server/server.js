exports = {
  // A message of this installation's team, routed here by its selector.
  onMessagePosted: function (payload) {
    var message = payload.data.message;
    console.log('message in', message.channel, 'from', message.user + ':', message.text);
  },

  // Events this app receives on its own target URL.
  onExternalEventHandler: function (payload) {
    console.log('external event', JSON.stringify(payload.data));
  }
};
