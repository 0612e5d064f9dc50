ALTER TABLE "feature_vectors" DROP CONSTRAINT "feature_vectors_image_id_images_id_fk";
--> statement-breakpoint
ALTER TABLE "feature_vectors" DROP CONSTRAINT "feature_vectors_shard_id_feature_shards_id_fk";
--> statement-breakpoint
DROP INDEX "feature_vectors_shard_idx";