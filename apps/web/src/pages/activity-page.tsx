import type { Rejection } from '@featx/bus';
import { useApi } from '../api/use-api';
import { DataTable, ErrorMessage, formatTime, Page } from './common';

/** A row of GET /rejected-messages: the rejection as recorded (its payload as base64, unused here). */
type RejectedMessage = Omit<Rejection, 'payload'> & { id: number; createdAt: string };

const LIMIT = 100;

/**
 * Bus messages the services rejected (undecodable, invalid, poison), newest first: the latest
 * LIMIT, as GET /rejected-messages answers today. (The API lists no commands, only one by id.)
 */
export function ActivityPage() {
  const rejected = useApi<RejectedMessage[]>(`/rejected-messages?limit=${LIMIT}`);
  const rows = rejected.data ?? [];
  return (
    <Page title="Activity" actions={<button onClick={rejected.reload}>Refresh</button>}>
      <h2>Rejected bus messages</h2>
      <ErrorMessage error={rejected.error} />
      {rejected.data && rows.length === 0 && <p>No message has been rejected.</p>}
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
      {rows.length === LIMIT && <p>Showing the latest {LIMIT}.</p>}
    </Page>
  );
}
