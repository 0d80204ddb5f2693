/// The API as OpenAPI 3.1, served at `GET /openapi.yaml`. Kept by hand next to the routes; a
/// test checks that it lists exactly the routes the router serves.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Motive
  version: "1.0"
  description: |
    Video action recognition: POST a video for labels, submit training jobs, serve the models
    they produce. Every error answers {"error": {"code", "message", "request_id"}}, and every
    response carries an X-Request-Id header (a plain id sent by the client is kept).

    With a token (--token or MOTIVE_TOKEN), every /v1/jobs route needs the header
    Authorization: Bearer <token>, reads included, and so does POST /v1/models/rescan; with
    --auth all, /v1/predict and /v1/models need it too. /healthz, /metrics and /openapi.yaml are always open. Without a token nothing
    is guarded.

    A request body may answer Expect: 100-continue; the server sends 100 Continue when it starts
    reading the body, or its final answer instead when it refuses the request first. An answer
    with Connection: close ends the connection; nothing else is read or answered on it.
paths:
  /v1/predict:
    post:
      summary: Label a video
      description: |
        The body is the raw video (Content-Type video/* or application/octet-stream) or a
        multipart/form-data body with the video in the field `video`. The upload streams to a
        temporary file that is removed afterwards. It holds an upload place (--max-uploads) while
        it arrives, and an inference place (--max-concurrent) only once it is complete. A body has
        --request-timeout seconds plus one second per --min-upload-rate KB received (408 past it).
        Needs the bearer token under --auth all.
      security: [{bearer: []}, {}]
      parameters:
        - {name: model, in: query, schema: {type: string}, description: "A model name; default: the model `default`, else the only one"}
        - {name: top_k, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 5}}
        - {name: views, in: query, schema: {type: string, example: 3x1}, description: "CLIPSxCROPS test views (clips 1-10, crops 1, 3 or 10)"}
        - {name: window, in: query, schema: {type: string, example: 2s}, description: Timeline window length}
        - {name: stride, in: query, schema: {type: string, example: 1s}, description: "Timeline step (default: the window)"}
      requestBody:
        required: true
        content:
          video/*: {schema: {type: string, format: binary}}
          application/octet-stream: {schema: {type: string, format: binary}}
          multipart/form-data:
            schema:
              type: object
              properties: {video: {type: string, format: binary}}
              required: [video]
      responses:
        "200": {description: Labels, content: {application/json: {schema: {$ref: "#/components/schemas/Prediction"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "503":
          description: Too many uploads being received (too_many_uploads, --max-uploads) or predictions waiting or running (overloaded, --max-concurrent)
          headers: {Retry-After: {schema: {type: integer}}}
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
  /predictions/{model}:
    post:
      summary: Label a video, as TorchServe's inference API does
      description: |
        TorchServe's prediction route over the same path as POST /v1/predict (same limits,
        views and top_k). The body is the raw video; a body without a Content-Type is taken as
        one (`curl -T video.mp4` sends a PUT without it), and multipart/form-data with the field
        `video` works too. The answer is TorchServe's default classification output: one JSON
        object, label to probability, best first. Errors keep Motive's error body. Needs the
        bearer token under --auth all.
      security: [{bearer: []}, {}]
      parameters:
        - {name: model, in: path, required: true, schema: {type: string}}
        - {name: top_k, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 5}}
        - {name: views, in: query, schema: {type: string, example: 3x1}}
      requestBody:
        required: true
        content:
          video/*: {schema: {type: string, format: binary}}
          application/octet-stream: {schema: {type: string, format: binary}}
      responses:
        "200":
          description: Label to probability, best first
          content: {application/json: {schema: {type: object, additionalProperties: {type: number}}, example: {zoom_in: 0.9999, static: 0.00002}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "415": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    put:
      summary: The same as POST (curl -T)
      security: [{bearer: []}, {}]
      parameters:
        - {name: model, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/octet-stream: {schema: {type: string, format: binary}}
      responses:
        "200": {description: Label to probability, best first, content: {application/json: {schema: {type: object, additionalProperties: {type: number}}}}}
        "404": {$ref: "#/components/responses/Error"}
  /v1/models:
    get:
      summary: List the served models
      description: Needs the bearer token under --auth all.
      security: [{bearer: []}, {}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200":
          description: Models
          content:
            application/json:
              schema:
                type: object
                properties: {models: {type: array, items: {$ref: "#/components/schemas/Model"}}}
  /v1/models/{name}:
    get:
      summary: One model
      description: Needs the bearer token under --auth all.
      security: [{bearer: []}, {}]
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200": {description: The model, content: {application/json: {schema: {$ref: "#/components/schemas/Model"}}}}
        "404": {$ref: "#/components/responses/Error"}
  /v1/models/rescan:
    post:
      summary: Load the models folder's new models
      description: |
        Loads every subfolder of --models holding a checkpoint that names no served model (a
        request naming such a model loads it too). Served models are never replaced or dropped.
        A folder that fails to load is logged and tried again once its checkpoint changes. Needs
        the bearer token under either --auth scope.
      security: [{bearer: []}, {}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200":
          description: The names loaded by this scan, and every served model's
          content:
            application/json:
              schema:
                type: object
                properties:
                  added: {type: array, items: {type: string}}
                  models: {type: array, items: {type: string}}
  /v1/jobs:
    post:
      summary: Submit a job (training, or a bench)
      description: |
        The body is YAML. A training job is a job config in the trainer's format (`motive config
        JOB.yaml` prints one resolved; _base_ is not read). A bench job says `kind: bench` and has
        the options of `motive bench` as keys: models (presets, served model names, or checkpoints
        and run folders, each optionally `label=path`), data, root, views, batch, repeats,
        train_step, threads, published. Paths are read from --data-root and must stay inside it
        after symlinks; the server puts the run in its state directory, where GET
        /v1/jobs/{id}/files lists what it wrote.
      security: [{bearer: []}, {}]
      requestBody:
        required: true
        content: {application/yaml: {schema: {type: string}}}
      responses:
        "201":
          description: Queued
          headers: {Location: {schema: {type: string}}}
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
                  kind: {type: string, enum: [train, bench]}
                  state: {$ref: "#/components/schemas/JobState"}
                  model_name: {type: string, description: A training job's model name}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
    get:
      summary: List the jobs, oldest first
      security: [{bearer: []}, {}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200":
          description: Jobs
          content:
            application/json:
              schema:
                type: object
                properties: {jobs: {type: array, items: {$ref: "#/components/schemas/Job"}}}
  /v1/datasets:
    get:
      summary: The uploaded datasets
      security: [{bearer: []}, {}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200":
          description: Every dataset, by name
          content:
            application/json:
              schema: {type: object, properties: {datasets: {type: array, items: {$ref: "#/components/schemas/Dataset"}}}}
  /v1/datasets/{name}:
    put:
      summary: Upload a dataset (tar, tar.gz or zip), then check it in the background
      description: |
        The body is the archive, streamed (never held in memory). It holds videos or rawframe
        folders and, as `format` says: lists (train.txt, optional val.txt and classes.txt, in
        `motive train`'s formats), a folder per class (`folders`, optionally split into train/
        and val/), or official split files (`ucf101`, `hmdb51`, `kinetics`, `ssv2`). It is
        unpacked into a fresh folder under the data root's datasets/, refusing `..`, absolute
        and non-UTF-8 names, links, device files and FIFOs, more than --max-dataset-files
        members and more than --max-dataset-gb once unpacked; any refusal leaves nothing
        behind. A check job (kind check) then probes every video; the dataset is `checking`
        until it ends `ready` (perhaps with warnings) or `invalid`.
      security: [{bearer: []}, {}]
      parameters:
        - {$ref: "#/components/parameters/DatasetName"}
        - {name: format, in: query, schema: {type: string, enum: [lists, folders, ucf101, hmdb51, kinetics, ssv2], default: lists}}
        - {name: split, in: query, schema: {type: integer, minimum: 1, maximum: 3, default: 1}}
      requestBody:
        required: true
        content:
          application/gzip: {schema: {type: string, format: binary}}
          application/x-tar: {schema: {type: string, format: binary}}
          application/zip: {schema: {type: string, format: binary}}
      responses:
        "202":
          description: Unpacked; its check is queued
          content:
            application/json:
              schema:
                type: object
                properties: {name: {type: string}, state: {type: string, enum: [checking]}, check_job: {type: string}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "408": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
    get:
      summary: One dataset, with its check's class table, counts, duration and unreadable files
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/DatasetName"}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200": {description: The dataset, content: {application/json: {schema: {$ref: "#/components/schemas/Dataset"}}}}
        "404": {$ref: "#/components/responses/Error"}
    delete:
      summary: Delete a dataset and its files (409 while a queued or running job uses it)
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/DatasetName"}]
      responses:
        "200": {description: Deleted, content: {application/json: {schema: {type: object, properties: {name: {type: string}, deleted: {type: boolean}}}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}:
    get:
      summary: One job
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200": {description: The job, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
        "404": {$ref: "#/components/responses/Error"}
    delete:
      summary: Cancel a job
      description: A queued job is cancelled at once (200); a running one stops after its current step, then is cancelled (202).
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "200": {description: Cancelled, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
        "202": {description: Stopping, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}/log:
    get:
      summary: The run's log.jsonl (one JSON object per event)
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200": {description: The log, content: {application/x-ndjson: {schema: {type: string}}}}
        "404": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}/events:
    get:
      summary: Follow a job (Server-Sent Events)
      description: |
        One event per line of the run's log (named after its `event` field: start, step, epoch,
        checkpoint, interrupted, finished… for training; bench_start, bench_progress, bench_model,
        bench_finished for a bench; with the line number as id; Last-Event-ID skips lines
        already seen), an event `state` with the job at each change of state, and a last event `end`.
      security: [{bearer: []}, {}]
      parameters:
        - {$ref: "#/components/parameters/JobID"}
        - {name: Last-Event-ID, in: header, schema: {type: integer}}
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200": {description: Event stream, content: {text/event-stream: {schema: {type: string}}}}
        "404": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}/files:
    get:
      summary: The files of the job's run directory (and one folder down)
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "401": {$ref: "#/components/responses/Error"}
        "200":
          description: Files
          content:
            application/json:
              schema:
                type: object
                properties:
                  files:
                    type: array
                    items:
                      type: object
                      properties: {name: {type: string}, bytes: {type: integer}, content_type: {type: string}}
        "404": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}/files/{name}:
    get:
      summary: One file of the run directory (curves.svg, metrics.csv, bench.md, accuracy_vs_gflops.svg…)
      description: Served with its content type. A name must be a plain file name (no '..', '/' or leading '.'), else 400.
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/JobID"}, {name: name, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: The file, content: {"*/*": {schema: {type: string, format: binary}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /v1/jobs/{id}/files/{folder}/{name}:
    get:
      summary: One file in a folder of the run directory (eval/confusion.svg…)
      security: [{bearer: []}, {}]
      parameters:
        - {$ref: "#/components/parameters/JobID"}
        - {name: folder, in: path, required: true, schema: {type: string}}
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: The file, content: {"*/*": {schema: {type: string, format: binary}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /v1/streams:
    post:
      summary: Start labelling a live source
      description: |
        Needs the daemon to run with a token (403 token_required otherwise). `source` is a URL
        (rtsp, rtsps, rtmp, rtmps, http, https, udp, tcp, srt, rtp) whose host:port matches an
        --allow-stream-source glob (403 source_not_allowed otherwise), a device path matching one,
        or a file or named pipe under the data root (a file is paced at its frame rate unless
        `realtime` is false). Window mode (default) labels the last `window` of frames every
        `stride`; `online: true` labels every `every`-th frame through online TSM (TSM models),
        averaged over the last `smoothing` decisions. Past --max-streams, 503 too_many_streams; a
        source that cannot be opened within `stall_timeout`, 422 stream_unavailable.
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [source]
              additionalProperties: false
              properties:
                source: {type: string}
                model: {type: string, description: "a served model (default: `default`, else the only one)"}
                window: {description: "\"2s\", \"500ms\" or seconds (default 2 s)", oneOf: [{type: string}, {type: number}]}
                stride: {description: "default 0.5 s (the window when only the window is given)", oneOf: [{type: string}, {type: number}]}
                online: {type: boolean, default: false}
                every: {type: integer, minimum: 1, maximum: 1000, default: 1}
                smoothing: {type: integer, minimum: 1, maximum: 1000, default: 4}
                top_k: {type: integer, minimum: 1, maximum: 1000, default: 3}
                realtime: {type: boolean}
                stall_timeout: {type: number, exclusiveMinimum: 0, maximum: 300, default: 10}
                reconnect: {type: boolean, default: false}
      responses:
        "201": {description: The stream, with a Location header, content: {application/json: {schema: {$ref: "#/components/schemas/Stream"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
        "503": {$ref: "#/components/responses/Error"}
    get:
      summary: The running streams, and the last finished ones
      security: [{bearer: []}, {}]
      responses:
        "200":
          description: Streams
          content:
            application/json:
              schema: {type: object, properties: {streams: {type: array, items: {$ref: "#/components/schemas/Stream"}}}}
        "401": {$ref: "#/components/responses/Error"}
  /v1/streams/{id}:
    get:
      summary: One stream
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/StreamID"}]
      responses:
        "200": {description: The stream, content: {application/json: {schema: {$ref: "#/components/schemas/Stream"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
    delete:
      summary: Stop a stream
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/StreamID"}]
      responses:
        "200": {description: The stopped stream, content: {application/json: {schema: {$ref: "#/components/schemas/Stream"}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /v1/streams/{id}/events:
    get:
      summary: Follow a stream's decisions (Server-Sent Events)
      description: |
        An event `decision` per decision from now on (data: t_start, t_end, labels, latency_ms,
        dropped), then one `end` (data: reason ended, stopped or failed, and error). A comment
        line every 15 s keeps an idle connection open.
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/StreamID"}]
      responses:
        "200": {description: Event stream, content: {text/event-stream: {schema: {type: string}}}}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /v1/streams/{id}/ws:
    get:
      summary: Follow a stream's decisions over a WebSocket
      description: |
        After the upgrade, each event is a text message {"event": "decision"|"end", "data": {…}}
        with the data of the Server-Sent Events; the server closes after `end`. A request
        without the upgrade is 426.
      security: [{bearer: []}, {}]
      parameters: [{$ref: "#/components/parameters/StreamID"}]
      responses:
        "101": {description: Switching to the WebSocket protocol}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "426": {$ref: "#/components/responses/Error"}
  /:
    get:
      summary: The web page
      description: |
        One self-contained HTML page (script and style inline, nothing external) that labels an
        uploaded video with a served model (top labels and a chart of scores over time) and
        follows live streams, through the API above with the bearer token entered on it. Always
        open; sent with a Content-Security-Policy that allows only its own inline code and this origin.
      responses:
        "200": {description: The page, content: {text/html: {schema: {type: string}}}}
  /ping:
    get:
      summary: Liveness, as TorchServe answers it
      responses:
        "200":
          description: Alive
          content: {application/json: {schema: {type: object, properties: {status: {type: string, const: Healthy}}}}}
  /healthz:
    get:
      summary: Liveness
      responses:
        "200":
          description: Alive
          content:
            application/json:
              schema:
                type: object
                properties:
                  status: {type: string, const: ok}
                  models: {type: integer}
                  jobs_queued: {type: integer}
                  jobs_running: {type: integer}
                  uptime_s: {type: number}
  /metrics:
    get:
      summary: Prometheus metrics
      description: |
        motive_http_requests_total{route,method,status}, motive_http_request_duration_seconds{route},
        motive_http_requests_in_flight, motive_uploads_in_progress, motive_predictions_in_progress,
        motive_prediction_stage_duration_seconds{stage}, motive_jobs_queue_length,
        motive_jobs_by_state{state}, motive_model_load_duration_seconds{model}.
      responses:
        "200": {description: Text exposition format 0.0.4, content: {text/plain: {schema: {type: string}}}}
  /openapi.yaml:
    get:
      summary: This document
      responses:
        "200": {description: OpenAPI 3.1, content: {application/yaml: {schema: {type: string}}}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  parameters:
    JobID: {name: id, in: path, required: true, schema: {type: string}}
    StreamID: {name: id, in: path, required: true, schema: {type: string}}
    DatasetName: {name: name, in: path, required: true, schema: {type: string, pattern: "^[a-z0-9][a-z0-9_-]{0,63}$"}}
  responses:
    Error:
      description: An error
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
  schemas:
    Dataset:
      type: object
      properties:
        name: {type: string}
        state: {type: string, enum: [checking, ready, invalid]}
        format: {type: string}
        created_at: {type: string, format: date-time}
        files: {type: integer}
        bytes: {type: integer}
        check_job: {type: string}
        error: {type: string}
        report:
          type: object
          properties:
            state: {type: string, enum: [ready, invalid]}
            classes:
              type: array
              items: {type: object, properties: {name: {type: string}, train: {type: integer}, val: {type: integer}, seconds: {type: number}}}
            videos: {type: integer}
            readable: {type: integer}
            unreadable: {type: array, items: {type: object, properties: {path: {type: string}, error: {type: string}}}}
            total_seconds: {type: number}
            frames: {type: integer}
            resolutions: {type: object, additionalProperties: {type: integer}}
            warnings: {type: array, items: {type: string}}
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message, request_id]
          properties: {code: {type: string}, message: {type: string}, request_id: {type: string}}
    Decision:
      type: object
      properties:
        t_start: {type: number, description: "seconds from the stream's first frame"}
        t_end: {type: number}
        labels: {type: array, items: {$ref: "#/components/schemas/Label"}}
        latency_ms: {type: number, description: "from the decoding of the frame that made the decision possible"}
        dropped: {type: integer, description: "frames not labelled so far (dropped behind, or skipped to catch up)"}
    Stream:
      type: object
      required: [id, source, model, mode, state, started_at, frames_decoded, frames_dropped, decisions]
      properties:
        id: {type: string}
        source: {type: string}
        model: {type: string}
        mode: {type: string, enum: [window, online]}
        state: {type: string, enum: [running, ended, stopped, failed]}
        error: {type: string}
        started_at: {type: string, format: date-time}
        frames_decoded: {type: integer}
        frames_dropped: {type: integer}
        decisions: {type: integer}
        last: {$ref: "#/components/schemas/Decision"}
    Label:
      type: object
      properties: {label: {type: string}, score: {type: number}, index: {type: integer}}
    Prediction:
      type: object
      required: [request_id, model, labels, views, timing_ms]
      properties:
        request_id: {type: string}
        model: {type: string}
        labels: {type: array, items: {$ref: "#/components/schemas/Label"}}
        views: {type: string}
        timing_ms:
          type: object
          properties: {decode: {type: number}, infer: {type: number}, timeline: {type: number}, total: {type: number}}
        timeline:
          type: array
          items:
            type: object
            properties:
              start: {type: number}
              end: {type: number}
              labels: {type: array, items: {$ref: "#/components/schemas/Label"}}
    Model:
      type: object
      properties:
        name: {type: string}
        preset: {type: string}
        classes: {type: array, items: {type: string}}
        input:
          type: object
          properties:
            frames: {type: integer}
            size: {type: integer}
            normalization: {type: string}
            clip_length: {type: integer}
            frame_interval: {type: integer}
            clips: {type: integer}
        parameters: {type: integer}
        gflops: {type: number, description: Per view}
        views: {type: string}
        source: {type: string, enum: [models, job]}
        job: {type: string}
        epoch: {type: integer}
        load_seconds: {type: number}
    JobState:
      type: string
      enum: [queued, running, succeeded, failed, cancelled]
    Job:
      type: object
      properties:
        id: {type: string}
        kind: {type: string, enum: [train, bench, check]}
        state: {$ref: "#/components/schemas/JobState"}
        model_name: {type: string, description: A training job's}
        preset: {type: string, description: A training job's}
        models: {type: array, items: {type: string}, description: A bench job's}
        submitted_at: {type: string, format: date-time}
        started_at: {type: string, format: date-time}
        finished_at: {type: string, format: date-time}
        epoch: {type: integer}
        epochs: {type: integer}
        step: {type: integer}
        progress:
          type: object
          properties:
            epoch: {type: integer}
            epochs: {type: integer}
            batch: {type: integer}
            batches: {type: integer}
            step: {type: integer}
            loss: {type: number}
            top1: {type: number}
            lr: {type: number}
            clips_per_s: {type: number}
            eta_s: {type: number}
        bench_progress:
          type: object
          description: Where a running bench is
          properties:
            index: {type: integer}
            models: {type: integer}
            model: {type: string}
            phase: {type: string, enum: [loading, latency, throughput, accuracy, train_step]}
            done: {type: integer}
            total: {type: integer}
        last_epoch: {type: object, description: "The last epoch's row of metrics.csv"}
        eta_s: {type: number}
        attempts: {type: integer}
        cancel_requested: {type: boolean}
        error: {type: string}
        processes: {type: integer, description: "Processes a training job runs on (distributed.processes, under mpirun; 1 without)"}
        dataset: {type: string, description: "The uploaded dataset a check job checks, or a training job trains on (data.dataset)"}
"""#
}
