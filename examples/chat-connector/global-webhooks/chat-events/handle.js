// Runs for every request to the connector's global webhook URL. Answers the chat
// product's URL check, and turns each message into an event routed by team.
export default async function handle({ data, headers, rawBody }) {
  if (data && data.type === 'url_verification') {
    return { events: [], response: { status: 200, data: { challenge: data.challenge } } }
  }
  const messages = (data && data.events) || []
  return {
    events: messages.map((message) => ({
      selector: `team:${message.team_id}`,
      payload: { message, signature: headers['x-chat-signature'], bytes: rawBody.length },
    })),
    response: { status: 200, data: 'ok' },
  }
}
