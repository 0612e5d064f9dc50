DROP INDEX "feature_sets_config_key";--> statement-breakpoint
ALTER TABLE "feature_sets" ADD COLUMN "precision" text DEFAULT 'fp32' NOT NULL;--> statement-breakpoint
ALTER TABLE "feature_sets" ADD COLUMN "quantization" jsonb;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_sets_config_key" ON "feature_sets" USING btree ("dataset_id","model","layer","pooling","dtype","engine","precision");