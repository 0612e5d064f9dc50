DROP INDEX "feature_sets_config_key";--> statement-breakpoint
ALTER TABLE "feature_sets" ADD COLUMN "engine" text DEFAULT 'auto' NOT NULL;--> statement-breakpoint
-- Sets made before this column existed were all extracted with TF.js.
UPDATE "feature_sets" SET "engine" = 'tfjs';--> statement-breakpoint
CREATE UNIQUE INDEX "feature_sets_config_key" ON "feature_sets" USING btree ("dataset_id","model","layer","pooling","dtype","engine");
