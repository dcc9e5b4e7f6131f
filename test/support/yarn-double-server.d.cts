// Types of yarn-double-server.cjs, the yarn double's server mode (for the benchmark).

/** The sh wrapper, installed as `tool` on the edge node, that sends each call to the server at `socket`. */
export declare function wrapperScript(tool: 'yarn' | 'spark-submit', socket: string): string;
