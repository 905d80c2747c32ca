/* See include/cil_image_codec.h. */
#include "cil_image_codec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#define CIL_MESSAGE_SIZE 256

static void set_message(char *message, const char *text) {
    if (message == NULL) return;
    snprintf(message, CIL_MESSAGE_SIZE, "%s", text);
}

/* ---- libjpeg error handling: longjmp back into the calling C function ---- */

struct cil_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;
    /* The encoder's output buffer lives here, in memory that survives longjmp. */
    unsigned char *dest;
    unsigned long dest_size;
};

static void cil_jpeg_error_exit(j_common_ptr cinfo) {
    struct cil_jpeg_error *err = (struct cil_jpeg_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    set_message(err->message, text);
    longjmp(err->jump, 1);
}

/* Warnings (e.g. "premature end of data") are not printed; libjpeg fills the rest. */
static void cil_jpeg_silent(j_common_ptr cinfo) { (void)cinfo; }

/* Refuses progressive JPEGs with absurdly many scans (see the header). */
static void cil_jpeg_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > CIL_JPEG_MAX_SCANS) {
        struct cil_jpeg_error *err = (struct cil_jpeg_error *)cinfo->err;
        snprintf(err->message, CIL_MESSAGE_SIZE, "more than %d progressive scans", CIL_JPEG_MAX_SCANS);
        longjmp(err->jump, 1);
    }
}

/* Whether width x height exceeds max_pixels; if so, says so in `message`. */
static int too_large(size_t width, size_t height, size_t max_pixels, char *message) {
    if (width == 0 || height == 0 || width <= max_pixels / height) return 0;
    if (message != NULL)
        snprintf(message, CIL_MESSAGE_SIZE, "image too large: %zux%zu pixels (at most %zu)", width, height, max_pixels);
    return 1;
}

static uint8_t clamp_u8(int v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

int cil_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, cil_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct cil_jpeg_error err;
    struct jpeg_progress_mgr progress;
    uint8_t *volatile row = NULL;
    uint8_t *volatile planes = NULL;

    memset(out, 0, sizeof *out);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = cil_jpeg_error_exit;
    err.pub.output_message = cil_jpeg_silent;
    err.message = out->message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        free(planes);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = cil_jpeg_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (too_large(cinfo.image_width, cinfo.image_height, max_pixels, out->message)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    size_t w = cinfo.output_width, h = cinfo.output_height;
    int comps = cinfo.output_components;
    size_t plane = w * h;
    planes = (uint8_t *)malloc(3 * plane);
    row = (uint8_t *)malloc(w * (size_t)comps);
    if (planes == NULL || row == NULL) {
        set_message(out->message, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        free(row);
        free(planes);
        return -1;
    }
    int adobe_inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        uint8_t *r = planes + y * w, *g = r + plane, *b = g + plane;
        if (cmyk) {
            for (size_t x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!adobe_inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                /* Adobe CMYK is stored inverted: RGB = inverted C * inverted K / 255. */
                r[x] = clamp_u8((c * k + 127) / 255);
                g[x] = clamp_u8((m * k + 127) / 255);
                b[x] = clamp_u8((yy * k + 127) / 255);
            }
        } else {
            for (size_t x = 0; x < w; x++) {
                r[x] = row[3 * x];
                g[x] = row[3 * x + 1];
                b[x] = row[3 * x + 2];
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->width = (int)w;
    out->height = (int)h;
    out->planes = planes;
    return 0;
}

int cil_decode_png(const uint8_t *data, size_t size, size_t max_pixels, cil_image *out) {
    png_image image;
    memset(out, 0, sizeof *out);
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_message(out->message, image.message);
        png_image_free(&image);
        return -1;
    }
    if (too_large(image.width, image.height, max_pixels, out->message)) {
        png_image_free(&image);
        return -1;
    }
    image.format = PNG_FORMAT_RGBA;
    size_t w = image.width, h = image.height, plane = w * h;
    uint8_t *rgba = (uint8_t *)malloc(PNG_IMAGE_SIZE(image));
    uint8_t *planes = (uint8_t *)malloc(3 * plane);
    if (rgba == NULL || planes == NULL) {
        set_message(out->message, "out of memory");
        png_image_free(&image);
        free(rgba);
        free(planes);
        return -1;
    }
    if (!png_image_finish_read(&image, NULL, rgba, 0, NULL)) {
        set_message(out->message, image.message);
        png_image_free(&image);
        free(rgba);
        free(planes);
        return -1;
    }
    for (size_t i = 0; i < plane; i++) {
        planes[i] = rgba[4 * i];
        planes[plane + i] = rgba[4 * i + 1];
        planes[2 * plane + i] = rgba[4 * i + 2];
    }
    free(rgba);
    out->width = (int)w;
    out->height = (int)h;
    out->planes = planes;
    return 0;
}

void cil_image_free(cil_image *image) {
    if (image == NULL) return;
    free(image->planes);
    image->planes = NULL;
}

int cil_encode_jpeg(const uint8_t *planes, int width, int height, int quality,
                    uint8_t **out, size_t *out_size, char *message) {
    struct jpeg_compress_struct cinfo;
    struct cil_jpeg_error err;
    uint8_t *volatile row = NULL;

    *out = NULL;
    *out_size = 0;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = cil_jpeg_error_exit;
    err.pub.output_message = cil_jpeg_silent;
    err.message = message;
    err.dest = NULL;
    err.dest_size = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        free(err.dest);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &err.dest, &err.dest_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t w = (size_t)width, plane = w * (size_t)height;
    row = (uint8_t *)malloc(3 * w);
    if (row == NULL) {
        set_message(message, "out of memory");
        jpeg_destroy_compress(&cinfo);
        free(err.dest);
        return -1;
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        size_t y = cinfo.next_scanline;
        for (size_t x = 0; x < w; x++) {
            row[3 * x] = planes[y * w + x];
            row[3 * x + 1] = planes[plane + y * w + x];
            row[3 * x + 2] = planes[2 * plane + y * w + x];
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    *out = err.dest;
    *out_size = (size_t)err.dest_size;
    return 0;
}

int cil_encode_png(const uint8_t *planes, int width, int height,
                   uint8_t **out, size_t *out_size, char *message) {
    *out = NULL;
    *out_size = 0;
    size_t w = (size_t)width, plane = w * (size_t)height;
    uint8_t *rgb = (uint8_t *)malloc(3 * plane);
    if (rgb == NULL) {
        set_message(message, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < plane; i++) {
        rgb[3 * i] = planes[i];
        rgb[3 * i + 1] = planes[plane + i];
        rgb[3 * i + 2] = planes[2 * plane + i];
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, rgb, 0, NULL)) {
        set_message(message, image.message);
        free(rgb);
        return -1;
    }
    uint8_t *buffer = (uint8_t *)malloc(size);
    if (buffer == NULL || !png_image_write_to_memory(&image, buffer, &size, 0, rgb, 0, NULL)) {
        set_message(message, buffer == NULL ? "out of memory" : image.message);
        free(buffer);
        free(rgb);
        return -1;
    }
    free(rgb);
    *out = buffer;
    *out_size = size;
    return 0;
}

void cil_buffer_free(void *buffer) { free(buffer); }
