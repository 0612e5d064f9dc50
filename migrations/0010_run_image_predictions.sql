CREATE TABLE "run_image_predictions" (
	"run_id" uuid NOT NULL,
	"split" text NOT NULL,
	"image_id" bigint NOT NULL,
	"true_class" smallint NOT NULL,
	"predicted_class" smallint NOT NULL,
	"probability" real NOT NULL,
	CONSTRAINT "run_image_predictions_run_id_split_image_id_pk" PRIMARY KEY("run_id","split","image_id")
);
--> statement-breakpoint
ALTER TABLE "run_image_predictions" ADD CONSTRAINT "run_image_predictions_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_image_predictions" ADD CONSTRAINT "run_image_predictions_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "run_image_predictions_cell_idx" ON "run_image_predictions" USING btree ("run_id","split","true_class","predicted_class","image_id");--> statement-breakpoint
CREATE INDEX "images_dataset_status_id_idx" ON "images" USING btree ("dataset_id","status","id");