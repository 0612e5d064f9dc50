import type { Rejection } from '@featx/bus';
import type { CommandState } from '@featx/contracts';
import { usePagedApi } from '../api/use-paged-api';
import { DataTable, ErrorMessage, formatTime, MorePages, Page, StatusBadge } from './common';

/** A row of GET /rejected-messages: the rejection as recorded (its payload as base64, unused here). */
type RejectedMessage = Omit<Rejection, 'payload'> & { id: number; createdAt: string };

/** Commands and what became of them, and bus messages the services rejected (undecodable, invalid, poison): newest first, 100 a page each. */
export function ActivityPage() {
  const commands = usePagedApi<CommandState>('/commands');
  const rejected = usePagedApi<RejectedMessage>('/rejected-messages');
  const rows = rejected.items;
  const reload = () => {
    commands.reload();
    rejected.reload();
  };
  return (
    <Page title="Activity" actions={<button onClick={reload}>Refresh</button>}>
      <h2>Commands</h2>
      <ErrorMessage error={commands.error} />
      {commands.loaded && commands.items.length === 0 && <p>No commands yet.</p>}
      {commands.items.length > 0 && (
        <DataTable columns={['When', 'Type', 'Status', 'Finished', 'Error']} testId="commands">
          {commands.items.map((command) => (
            <tr key={command.id}>
              <td>{formatTime(command.createdAt)}</td>
              <td>{command.type}</td>
              <td>
                <StatusBadge status={command.status} />
              </td>
              <td>{formatTime(command.finishedAt)}</td>
              <td className="reason">{command.error ?? ''}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <MorePages pages={commands} what="commands" />
      <h2>Rejected bus messages</h2>
      <ErrorMessage error={rejected.error} />
      {rejected.loaded && rows.length === 0 && <p>No message has been rejected.</p>}
      {rows.length > 0 && (
        <DataTable columns={['When', 'Kind', 'Subject', 'Consumer', 'Stream seq.', 'Deliveries', 'Reason']} testId="rejected-messages">
          {rows.map((message) => (
            <tr key={message.id}>
              <td>{formatTime(message.createdAt)}</td>
              <td>{message.kind}</td>
              <td>{message.subject}</td>
              <td>{message.consumer}</td>
              <td>{message.streamSequence}</td>
              <td>{message.deliveryCount}</td>
              <td className="reason">{message.reason}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <MorePages pages={rejected} what="rejected messages" />
    </Page>
  );
}
