// Writes a 4-channel JPEG that Pillow cannot: YCCK (Adobe transform 2) or CMYK without the Adobe APP14 marker.
// Usage: write_4ch OUT.jpg WIDTH HEIGHT cmyk|ycck ADOBE(0|1) QUALITY PROGRESSIVE(0|1) SEED [SAMPLING]
// (used by make_cases.py); SAMPLING "h2v2_middle" samples channels 0 and 3 at 1x1 and channels 1 and 2 at 2x2.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: write_4ch OUT W H cmyk|ycck ADOBE QUALITY PROGRESSIVE SEED [SAMPLING]\n");
    return 2;
  }
  int w = atoi(argv[2]), h = atoi(argv[3]), ycck = strcmp(argv[4], "ycck") == 0;
  srand(atoi(argv[8]));
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  FILE *f = fopen(argv[1], "wb");
  jpeg_stdio_dest(&c, f);
  c.image_width = w;
  c.image_height = h;
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_colorspace(&c, ycck ? JCS_YCCK : JCS_CMYK);
  jpeg_set_quality(&c, atoi(argv[6]), TRUE);
  if (argc == 10 && strcmp(argv[9], "h2v2_middle") == 0) {
    for (int i = 0; i < 4; i++) {
      c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = (i == 1 || i == 2) ? 2 : 1;
    }
  }
  if (atoi(argv[7])) jpeg_simple_progression(&c);
  c.write_Adobe_marker = atoi(argv[5]);
  c.write_JFIF_header = FALSE;
  jpeg_start_compress(&c, TRUE);
  unsigned char *row = malloc((size_t) w * 4);
  int off = rand() & 255, flat = rand() & 255;
  while (c.next_scanline < c.image_height) {
    int y = c.next_scanline;
    for (int x = 0; x < w; x++) {  // gradients, noise and a flat band, so smooth and busy blocks both occur
      row[4 * x] = (x * 255 / (w > 1 ? w - 1 : 1) + off) & 255;
      row[4 * x + 1] = (y * 255 / (h > 1 ? h - 1 : 1)) & 255;
      row[4 * x + 2] = x < w / 2 ? rand() & 255 : flat;
      row[4 * x + 3] = ((x + y) * 3 + (rand() & 31)) & 255;
    }
    JSAMPROW r = row;
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  fclose(f);
  free(row);
  return 0;
}
