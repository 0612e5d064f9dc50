import { Module } from '@nestjs/common';
import { consumerProvisioner, CoreModule, FeatxConfig, loadConfig } from '@featx/runtime';

/** The trainer takes training-run commands. */
@Module({})
export class TrainerModule {
  static register(config: FeatxConfig = loadConfig('trainer')) {
    return {
      module: TrainerModule,
      imports: [CoreModule.forService('trainer', config)],
      providers: [
        consumerProvisioner((names) => [
          { stream: names.streams.commands, durable: 'trainer-runs', filterSubject: names.subjects.runCommands, maxDeliver: 5, ackWaitMs: 60000, maxAckPending: 8 },
        ]),
      ],
    };
  }
}
