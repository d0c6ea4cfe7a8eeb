{
  "targets": [
    {
      "target_name": "tsformer_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/dispatch.cc",
        "native/src/threadpool.cc",
        "native/src/kernels_generic.cc",
        "native/src/kernels_avx2.cc",
        "native/src/kernels_avx512.cc"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-Wall", "-Wno-unknown-pragmas"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-Wall", "-Wno-unknown-pragmas"],
      "cflags!": ["-O2", "-O0", "-fno-exceptions"],
      "cflags_cc!": ["-O2", "-O0", "-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "ldflags": ["-pthread"],
      "libraries": ["-pthread"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=c++17", "-fno-math-errno"],
        "GCC_OPTIMIZATION_LEVEL": "3",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "Optimization": 2, "AdditionalOptions": ["/std:c++17"] }
      }
    }
  ]
}
