import CFFmpeg
import Testing

/// The FFmpeg system-library target links and exposes the decoders Motive relies on.
@Suite struct FFmpegLinkTests {
    @Test func librariesReportVersions() {
        #expect(avformat_version() >> 16 >= 58)
        #expect(avcodec_version() >> 16 >= 58)
        #expect(swscale_version() >> 16 >= 5)
        #expect(avutil_version() >> 16 >= 56)
    }

    @Test func videoDecodersAreAvailable() {
        for id in [AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_VP9, AV_CODEC_ID_MPEG4, AV_CODEC_ID_MJPEG] {
            #expect(avcodec_find_decoder(id) != nil, "no decoder for codec id \(id.rawValue)")
        }
        #expect(av_find_input_format("image2") != nil)
    }
}
