import 'reflect-metadata';
import { registerNativeFloat16Decoder } from '@featx/learning';
import { runService } from '@featx/runtime';
import { TrainerModule } from './trainer.module';

// Every float16 feature value the trainer reads is decoded: by the CPU's F16C where the onednn
// addon is built (~10x the JavaScript table), else by the table.
registerNativeFloat16Decoder();
runService(TrainerModule.register());
