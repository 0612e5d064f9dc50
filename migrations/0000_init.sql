CREATE TABLE "datasets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"root" text NOT NULL,
	"path" text NOT NULL,
	"layout" text NOT NULL,
	"classes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"split_seed" integer,
	"split_ratios" jsonb,
	"status" text DEFAULT 'registering' NOT NULL,
	"error" text,
	"image_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"scanned_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "images" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dataset_id" uuid NOT NULL,
	"split" text,
	"label" text NOT NULL,
	"path" text NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" varchar(64) NOT NULL,
	"mtime_ms" bigint NOT NULL,
	"status" text DEFAULT 'present' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "commands" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"result" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "rejected_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"stream" text NOT NULL,
	"consumer" text NOT NULL,
	"subject" text NOT NULL,
	"stream_sequence" bigint NOT NULL,
	"delivery_count" integer NOT NULL,
	"reason" text NOT NULL,
	"payload" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_root_path_key" ON "datasets" USING btree ("root","path");--> statement-breakpoint
CREATE UNIQUE INDEX "images_dataset_path_key" ON "images" USING btree ("dataset_id","path");--> statement-breakpoint
CREATE INDEX "images_dataset_split_label_idx" ON "images" USING btree ("dataset_id","split","label");--> statement-breakpoint
CREATE INDEX "commands_created_at_idx" ON "commands" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "rejected_messages_stream_seq_consumer_key" ON "rejected_messages" USING btree ("stream","stream_sequence","consumer");