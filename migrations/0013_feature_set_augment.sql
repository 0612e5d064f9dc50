DROP INDEX "feature_shards_set_split_index_key";--> statement-breakpoint
DROP INDEX "feature_sets_config_key";--> statement-breakpoint
ALTER TABLE "feature_vectors" DROP CONSTRAINT "feature_vectors_feature_set_id_image_id_pk";--> statement-breakpoint
ALTER TABLE "feature_vectors" ADD COLUMN "augment" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "feature_vectors" ADD CONSTRAINT "feature_vectors_feature_set_id_image_id_augment_pk" PRIMARY KEY("feature_set_id","image_id","augment");--> statement-breakpoint
ALTER TABLE "feature_sets" ADD COLUMN "augment" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "feature_sets" ADD COLUMN "augmented" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "feature_shards" ADD COLUMN "augment" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_shards_set_split_augment_index_key" ON "feature_shards" USING btree ("feature_set_id","split","augment","index");--> statement-breakpoint
CREATE UNIQUE INDEX "feature_sets_config_key" ON "feature_sets" USING btree ("dataset_id","model","layer","pooling","dtype","engine","precision","augment");