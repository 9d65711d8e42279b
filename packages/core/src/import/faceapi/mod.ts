/**
 * face-api's models in the core graph: `zoo:faceapi-recognition` (128-d face descriptor) and
 * `zoo:faceapi-expression` (7 expressions), built from `@vladmandic/face-api`'s shipped weights, with
 * face-api's exact input preprocessing.
 * @module
 */
export * from "./faceapi_weights.ts";
export * from "./faceapi_preprocess.ts";
export * from "./face_recognition_net.ts";
export * from "./face_expression_net.ts";
export * from "./faceapi_zoo.ts";
