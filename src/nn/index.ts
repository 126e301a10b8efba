/** Models as data: pure apply functions over typed parameter records, and losses. */
export * from './activations.js';
export * from './linear.js';
export * from './mlp.js';
export * from './polynomial.js';
export * from './lenet.js';
export * from './losses.js';
export * from './init.js';
export * from './model.js';
export * from './autoencoder.js';
