CREATE TABLE "epoch_metrics" (
	"run_id" uuid NOT NULL,
	"epoch" integer NOT NULL,
	"train_loss" double precision NOT NULL,
	"train_accuracy" double precision NOT NULL,
	"val_loss" double precision,
	"val_accuracy" double precision,
	"learning_rate" double precision NOT NULL,
	"duration_ms" integer NOT NULL,
	"rows_per_second" double precision NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "epoch_metrics_run_id_epoch_pk" PRIMARY KEY("run_id","epoch")
);
--> statement-breakpoint
CREATE TABLE "evaluations" (
	"run_id" uuid NOT NULL,
	"split" text NOT NULL,
	"accuracy" double precision NOT NULL,
	"loss" double precision,
	"per_class" jsonb NOT NULL,
	"macro_avg" jsonb NOT NULL,
	"weighted_avg" jsonb NOT NULL,
	"confusion" jsonb NOT NULL,
	"report" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "evaluations_run_id_split_pk" PRIMARY KEY("run_id","split")
);
--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"feature_set_id" uuid NOT NULL,
	"config" jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"error" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"worker" text,
	"heartbeat_at" timestamp with time zone,
	"epochs_done" integer DEFAULT 0 NOT NULL,
	"best_epoch" integer,
	"best_val_loss" double precision,
	"resumes" integer DEFAULT 0 NOT NULL,
	"artifacts_path" text,
	"classes" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "epoch_metrics" ADD CONSTRAINT "epoch_metrics_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_feature_set_id_feature_sets_id_fk" FOREIGN KEY ("feature_set_id") REFERENCES "public"."feature_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "training_runs_status_idx" ON "training_runs" USING btree ("status");