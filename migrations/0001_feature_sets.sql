CREATE TABLE "feature_failures" (
	"feature_set_id" uuid NOT NULL,
	"image_id" bigint NOT NULL,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feature_failures_feature_set_id_image_id_pk" PRIMARY KEY("feature_set_id","image_id")
);
--> statement-breakpoint
CREATE TABLE "feature_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"model" text NOT NULL,
	"layer" text DEFAULT '' NOT NULL,
	"pooling" text NOT NULL,
	"dtype" text NOT NULL,
	"dim" integer,
	"spec" jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"images" integer DEFAULT 0 NOT NULL,
	"stored" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"done_at_start" integer DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "feature_shards" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"feature_set_id" uuid NOT NULL,
	"split" text NOT NULL,
	"index" integer NOT NULL,
	"path" text NOT NULL,
	"rows" integer DEFAULT 0 NOT NULL,
	"bytes" bigint DEFAULT 0 NOT NULL,
	"checksum" text,
	"status" text DEFAULT 'open' NOT NULL,
	"writer" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "feature_vectors" (
	"feature_set_id" uuid NOT NULL,
	"image_id" bigint NOT NULL,
	"shard_id" uuid NOT NULL,
	"row" integer NOT NULL,
	CONSTRAINT "feature_vectors_feature_set_id_image_id_pk" PRIMARY KEY("feature_set_id","image_id")
);
--> statement-breakpoint
ALTER TABLE "feature_failures" ADD CONSTRAINT "feature_failures_feature_set_id_feature_sets_id_fk" FOREIGN KEY ("feature_set_id") REFERENCES "public"."feature_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_failures" ADD CONSTRAINT "feature_failures_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_sets" ADD CONSTRAINT "feature_sets_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_shards" ADD CONSTRAINT "feature_shards_feature_set_id_feature_sets_id_fk" FOREIGN KEY ("feature_set_id") REFERENCES "public"."feature_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_vectors" ADD CONSTRAINT "feature_vectors_feature_set_id_feature_sets_id_fk" FOREIGN KEY ("feature_set_id") REFERENCES "public"."feature_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_vectors" ADD CONSTRAINT "feature_vectors_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feature_vectors" ADD CONSTRAINT "feature_vectors_shard_id_feature_shards_id_fk" FOREIGN KEY ("shard_id") REFERENCES "public"."feature_shards"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "feature_sets_config_key" ON "feature_sets" USING btree ("dataset_id","model","layer","pooling","dtype");--> statement-breakpoint
CREATE UNIQUE INDEX "feature_shards_set_split_index_key" ON "feature_shards" USING btree ("feature_set_id","split","index");--> statement-breakpoint
CREATE INDEX "feature_vectors_shard_idx" ON "feature_vectors" USING btree ("shard_id");