CREATE TABLE "run_candidates" (
	"run_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"settings" jsonb NOT NULL,
	"outcome" text NOT NULL,
	"epochs_trained" integer NOT NULL,
	"best_epoch" integer,
	"pruned_after" integer,
	"val_accuracy" double precision,
	"val_loss" double precision,
	"train_accuracy" double precision,
	"train_loss" double precision,
	"chosen" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "run_candidates_run_id_position_pk" PRIMARY KEY("run_id","position")
);
--> statement-breakpoint
ALTER TABLE "run_candidates" ADD CONSTRAINT "run_candidates_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;