// Each installation listens to the events of its own team: Weir stores this selector at
// install time and routes an event here when its selector matches.
export default async function getEventSelector({ parameters }) {
  return {
    globalWebhookKey: 'chat-events',
    globalWebhookEventSelector: `team:${parameters.team_id}`,
  }
}
