# featx_dense.node, the onednn head engine's kernels (featx_dense.cc). Built by tools/build-native.js
# (`npm run build:native`, and npm's postinstall) with node-gyp against the Debian package
# libdnnl-dev (oneDNN 2.x) and GCC's OpenMP; at run time it needs libdnnl2 and libgomp1.
{
  "targets": [
    {
      "target_name": "featx_dense",
      "sources": ["featx_dense.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fopenmp", "-Wall", "-Wextra"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
