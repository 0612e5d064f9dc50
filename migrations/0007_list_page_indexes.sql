DROP INDEX "commands_created_at_idx";--> statement-breakpoint
CREATE INDEX "datasets_created_at_id_idx" ON "datasets" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "images_dataset_id_idx" ON "images" USING btree ("dataset_id","id");--> statement-breakpoint
CREATE INDEX "commands_created_at_id_idx" ON "commands" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "commands_run_id_idx" ON "commands" USING btree (("payload"->>'runId'));--> statement-breakpoint
CREATE INDEX "feature_sets_created_at_id_idx" ON "feature_sets" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "feature_sets_dataset_created_at_id_idx" ON "feature_sets" USING btree ("dataset_id","created_at","id");--> statement-breakpoint
CREATE INDEX "training_runs_created_at_id_idx" ON "training_runs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "training_runs_feature_set_created_at_id_idx" ON "training_runs" USING btree ("feature_set_id","created_at","id");