/* JPEG and PNG decoding (and encoding, for tests and caches) on libjpeg-turbo and
   libpng, with their error handling kept in C: libjpeg reports errors by longjmp,
   which Swift cannot catch, so every call here returns 0 on success and -1 with a
   message instead of aborting the process. */
#ifndef CIL_IMAGE_CODEC_H
#define CIL_IMAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A decoded image: 8-bit RGB as three planes (R, then G, then B), each
   height x width row-major, in one malloc'd block of 3*width*height bytes. */
typedef struct {
    int width;
    int height;
    uint8_t *planes;
    char message[256];
} cil_image;

/* Untrusted files: an image whose header claims more than `max_pixels` pixels is
   refused before anything is allocated (-1, "image too large: WxH ..."), and a
   progressive JPEG with more than CIL_JPEG_MAX_SCANS scans is refused (a few
   hundred bytes can otherwise keep libjpeg busy for minutes). */
#define CIL_JPEG_MAX_SCANS 1000

/* Decodes a JPEG (grey, RGB/YCbCr, CMYK/YCCK converted to RGB) with libjpeg's
   defaults (islow IDCT, fancy upsampling), as PIL does. Returns 0 or -1. */
int cil_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, cil_image *out);

/* Decodes a PNG (any bit depth / colour type) to 8-bit RGB; an alpha channel is
   dropped, as PIL's convert("RGB") does. Returns 0 or -1. */
int cil_decode_png(const uint8_t *data, size_t size, size_t max_pixels, cil_image *out);

/* Frees the planes of a decoded image (safe on a zeroed struct). */
void cil_image_free(cil_image *image);

/* Encodes 8-bit RGB planes as a baseline JPEG of the given quality (1-100), or as
   a PNG. On success *out is a malloc'd buffer of *out_size bytes (free it with
   cil_buffer_free). Returns 0, or -1 with a message in `message` (256 bytes). */
int cil_encode_jpeg(const uint8_t *planes, int width, int height, int quality,
                    uint8_t **out, size_t *out_size, char *message);
int cil_encode_png(const uint8_t *planes, int width, int height,
                   uint8_t **out, size_t *out_size, char *message);
void cil_buffer_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
