/* page.c: the HTML pages of ccgateway (see page.h).
 *
 * The pages are plain server-rendered HTML5: no script and no inline style,
 * so the gateway's Content-Security-Policy can forbid both, and the one
 * stylesheet (page_css) is served from /static/gateway.css. Every word a
 * page shows is in one table, text[], with zh-CN and English side by side;
 * every string that came from a customer or from callcentred goes through
 * page_escape on its way out.
 *
 * Times are shown in Asia/Shanghai for zh-CN and in UTC for English, and
 * each page says which. Shanghai has kept UTC+8 without daylight saving
 * since 1991, so a fixed offset is exact for every time this product can
 * hold, and rendering needs no TZ database and no process-wide tzset().
 *
 * The status link carries the complaint's token, so every page asks for
 * "no-referrer", the status pages ask not to be indexed, and the language
 * switch of a page reached through a token link keeps the token in its own
 * link (a bare "?lang=en" would drop it). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>

#include "page.h"

#define ZH GW_LANG_ZH
#define EN GW_LANG_EN

/* Every text of the pages, by id. */
enum text_id {
	T_LANG_NAV,
	T_SKIP,
	T_SITE,
	T_FOOTER,
	T_REQUIRED,
	T_OPTIONAL,
	T_CHOOSE,
	T_ERROR_PREFIX,
	T_TZ_NOTE,
	/* the form */
	T_FORM_TITLE,
	T_FORM_INTRO,
	T_FORM_ABOUT_YOU,
	T_FORM_CONTACT_HINT,
	T_FORM_ABOUT_COMPLAINT,
	T_NAME,
	T_NAME_HINT,
	T_PHONE,
	T_PHONE_HINT,
	T_EMAIL,
	T_EMAIL_HINT,
	T_ORDER,
	T_ORDER_HINT,
	T_CATEGORY,
	T_DESCRIPTION,
	T_DESCRIPTION_HINT,
	T_RESOLUTION,
	T_URGENCY,
	T_HONEYPOT,
	T_SUBMIT,
	T_PRIVACY,
	T_SUMMARY_TITLE,
	T_BANNER_UNAVAILABLE,
	T_BANNER_EXPIRED,
	T_BANNER_RATE_LIMITED,
	T_BANNER_INVALID,
	/* choices */
	T_CAT_DELIVERY,
	T_CAT_PRODUCT,
	T_CAT_REFUND,
	T_CAT_SERVICE,
	T_CAT_BILLING,
	T_CAT_OTHER,
	T_RES_REFUND,
	T_RES_EXCHANGE,
	T_RES_APOLOGY,
	T_RES_COMPENSATION,
	T_RES_OTHER,
	T_URG_LOW,
	T_URG_NORMAL,
	T_URG_HIGH,
	T_URG_URGENT,
	/* the confirmation */
	T_CONFIRM_TITLE,
	T_CONFIRM_INTRO,
	T_CONFIRM_REF,
	T_CONFIRM_LINK_INTRO,
	T_CONFIRM_LINK,
	T_CONFIRM_KEEP,
	T_PROMISES,
	T_FIRST_RESPONSE,
	T_RESOLUTION_DUE,
	T_BY,
	T_NOT_SET,
	/* clocks */
	T_LEFT_LESS_THAN_MINUTE,
	T_OVERDUE,
	T_MET,
	T_MET_LATE,
	T_PAUSED,
	/* the status page */
	T_STATUS_TITLE,
	T_STATUS_REF,
	T_STATUS_STATE,
	T_STATUS_FILED,
	T_STATUS_UPDATED,
	T_STATUS_CATEGORY,
	T_STATUS_RESOLUTION,
	T_STATUS_URGENCY,
	T_NEXT_STEP,
	T_TIMELINE,
	T_TIMELINE_EMPTY,
	T_EV_CREATED,
	T_EV_STATE,
	T_EV_REPLY,
	T_EV_CUSTOMER,
	T_ST_NEW,
	T_ST_QUEUED,
	T_ST_IN_PROGRESS,
	T_ST_PENDING_CUSTOMER,
	T_ST_RESOLVED,
	T_ST_CLOSED,
	T_ST_REOPENED,
	T_ST_UNKNOWN,
	T_NEXT_RECEIVED,
	T_NEXT_ASSIGNED,
	T_NEXT_IN_PROGRESS,
	T_NEXT_WAITING,
	T_NEXT_RESOLVED,
	T_NEXT_CLOSED,
	T_NEXT_UNKNOWN,
	/* satisfaction */
	T_CSAT_TITLE,
	T_CSAT_LEGEND,
	T_CSAT_1,
	T_CSAT_2,
	T_CSAT_3,
	T_CSAT_4,
	T_CSAT_5,
	T_CSAT_COMMENT,
	T_CSAT_COMMENT_HINT,
	T_CSAT_SUBMIT,
	T_CSAT_GIVEN,
	T_CSAT_YOUR_COMMENT,
	T_CSAT_LATER,
	T_CSAT_THANKS_TITLE,
	T_CSAT_THANKS,
	T_BACK_TO_STATUS,
	/* errors */
	T_ERR_400_TITLE,
	T_ERR_400,
	T_ERR_403_TITLE,
	T_ERR_403,
	T_ERR_404_TITLE,
	T_ERR_404,
	T_ERR_405_TITLE,
	T_ERR_405,
	T_ERR_413_TITLE,
	T_ERR_413,
	T_ERR_429_TITLE,
	T_ERR_429,
	T_ERR_500_TITLE,
	T_ERR_500,
	T_ERR_503_TITLE,
	T_ERR_503,
	T_BACK_TO_FORM,
	T_COUNT
};

/* The texts: [id][lang], zh-CN first. Plain text: escaped on output. */
static const char *const text[T_COUNT][2] = {
    [T_LANG_NAV] = {"语言", "Language"},
    [T_SKIP] = {"跳到正文", "Skip to the content"},
    [T_SITE] = {"客户服务中心", "Customer service"},
    [T_FOOTER] = {"如需帮助，也可以拨打客服热线。", "You can also call our customer service line."},
    [T_REQUIRED] = {"必填", "required"},
    [T_OPTIONAL] = {"选填", "optional"},
    [T_CHOOSE] = {"请选择", "Choose one"},
    [T_ERROR_PREFIX] = {"错误：", "Error: "},
    [T_TZ_NOTE] = {"页面中的时间均为北京时间（UTC+8）。", "All times on this page are in UTC."},

    [T_FORM_TITLE] = {"提交投诉", "Make a complaint"},
    [T_FORM_INTRO] =
        {"请告诉我们发生了什么。提交后您会得到一个投诉编号和一个查看处理进度的私密链接。",
         "Tell us what went wrong. When you send it, you get a reference number and a "
         "private link to follow your complaint."},
    [T_FORM_ABOUT_YOU] = {"您的联系方式", "How we can reach you"},
    [T_FORM_CONTACT_HINT] = {"电话和电子邮箱至少填写一项。",
                             "Give a phone number, an e-mail address, or both."},
    [T_FORM_ABOUT_COMPLAINT] = {"投诉内容", "Your complaint"},
    [T_NAME] = {"姓名", "Name"},
    [T_NAME_HINT] = {"我们联系您时怎么称呼您。", "What we should call you."},
    [T_PHONE] = {"电话号码", "Phone number"},
    [T_PHONE_HINT] = {"手机或固定电话，例如 138 0013 8000。",
                      "Mobile or landline, like 138 0013 8000."},
    [T_EMAIL] = {"电子邮箱", "E-mail address"},
    [T_EMAIL_HINT] = {"例如 name@example.com。", "Like name@example.com."},
    [T_ORDER] = {"订单号", "Order number"},
    [T_ORDER_HINT] = {"可在“我的订单”中找到，例如 SO-1001。",
                      "You find it under \"My orders\", like SO-1001."},
    [T_CATEGORY] = {"投诉类型", "What is it about?"},
    [T_DESCRIPTION] = {"问题描述", "What happened?"},
    [T_DESCRIPTION_HINT] = {"请说明发生了什么、什么时候发生的。最多 4000 字。",
                            "Say what happened and when. At most 4,000 characters."},
    [T_RESOLUTION] = {"期望的处理方式", "What would you like us to do?"},
    [T_URGENCY] = {"紧急程度", "How urgent is it?"},
    [T_HONEYPOT] = {"此栏请留空", "Leave this field empty"},
    [T_SUBMIT] = {"提交投诉", "Send the complaint"},
    [T_PRIVACY] = {"您的联系方式只用于处理本次投诉。",
                   "We use your contact details only to handle this complaint."},
    [T_SUMMARY_TITLE] = {"提交前请修改以下内容", "Please correct the following"},
    [T_BANNER_UNAVAILABLE] =
        {"我们的服务暂时繁忙，投诉尚未提交。您填写的内容都还在，请稍后再提交一次。",
         "Our service is busy and your complaint was not sent. What you typed "
         "is kept: please send it again in a moment."},
    [T_BANNER_EXPIRED] = {"表单已过期，投诉尚未提交。请检查内容后再提交一次。",
                          "The form expired and your complaint was not sent. Please check it and "
                          "send it again."},
    [T_BANNER_RATE_LIMITED] = {"提交次数过多，投诉尚未提交。请稍后再试。",
                               "Too many complaints were sent from here, and this one was not "
                               "sent. Please try again later."},
    [T_BANNER_INVALID] = {"有些内容需要修改，具体见各栏旁的说明。",
                          "Some fields need your attention: see the notes beside them."},

    [T_CAT_DELIVERY] = {"物流配送", "Delivery"},
    [T_CAT_PRODUCT] = {"商品质量", "The product"},
    [T_CAT_REFUND] = {"退款退货", "A refund or return"},
    [T_CAT_SERVICE] = {"服务态度", "Our service"},
    [T_CAT_BILLING] = {"支付与账单", "Payment or billing"},
    [T_CAT_OTHER] = {"其他", "Something else"},
    [T_RES_REFUND] = {"退款", "A refund"},
    [T_RES_EXCHANGE] = {"换货", "An exchange"},
    [T_RES_APOLOGY] = {"道歉", "An apology"},
    [T_RES_COMPENSATION] = {"补偿", "Compensation"},
    [T_RES_OTHER] = {"其他", "Something else"},
    [T_URG_LOW] = {"不急", "Not urgent"},
    [T_URG_NORMAL] = {"一般", "Normal"},
    [T_URG_HIGH] = {"较急", "Urgent"},
    [T_URG_URGENT] = {"非常紧急", "Very urgent"},

    [T_CONFIRM_TITLE] = {"投诉已提交", "We have your complaint"},
    [T_CONFIRM_INTRO] = {"感谢您告诉我们。我们会按下面承诺的时间处理。",
                         "Thank you for telling us. We will handle it within the times below."},
    [T_CONFIRM_REF] = {"投诉编号", "Reference"},
    [T_CONFIRM_LINK_INTRO] = {"通过下面的私密链接可以随时查看处理进度：",
                              "Follow your complaint at any time through this private link:"},
    [T_CONFIRM_LINK] = {"查看处理进度", "See how your complaint is going"},
    [T_CONFIRM_KEEP] = {"请收藏此链接。任何拿到链接的人都能看到您的投诉，请不要分享给他人。",
                        "Bookmark the link. Anyone who has it can see your complaint, so do not "
                        "share it."},
    [T_PROMISES] = {"处理时限", "Our promise"},
    [T_FIRST_RESPONSE] = {"首次回复", "First reply"},
    [T_RESOLUTION_DUE] = {"解决问题", "Resolution"},
    [T_BY] = {"最迟 ", "by "},
    [T_NOT_SET] = {"尚未开始计时", "not started yet"},

    [T_LEFT_LESS_THAN_MINUTE] = {"还剩不到 1 分钟", "less than a minute left"},
    [T_OVERDUE] = {"已超时", "overdue"},
    [T_MET] = {"已按时完成", "met"},
    [T_MET_LATE] = {"已完成，但晚于承诺时间", "met, later than promised"},
    [T_PAUSED] = {"等待您回复期间暂停计时", "paused while we wait for your reply"},

    [T_STATUS_TITLE] = {"投诉处理进度", "Your complaint"},
    [T_STATUS_REF] = {"投诉编号", "Reference"},
    [T_STATUS_STATE] = {"当前状态", "Status"},
    [T_STATUS_FILED] = {"提交时间", "Sent"},
    [T_STATUS_UPDATED] = {"最近更新", "Last update"},
    [T_STATUS_CATEGORY] = {"投诉类型", "About"},
    [T_STATUS_RESOLUTION] = {"期望的处理方式", "You asked for"},
    [T_STATUS_URGENCY] = {"紧急程度", "Urgency"},
    [T_NEXT_STEP] = {"下一步", "What happens next"},
    [T_TIMELINE] = {"处理记录", "History"},
    [T_TIMELINE_EMPTY] = {"暂无记录。", "Nothing yet."},
    [T_EV_CREATED] = {"您提交了投诉", "You sent the complaint"},
    [T_EV_STATE] = {"状态更新为：", "Status changed to: "},
    [T_EV_REPLY] = {"客服回复", "Reply from customer service"},
    [T_EV_CUSTOMER] = {"您的留言", "Your message"},
    [T_ST_NEW] = {"已收到", "Received"},
    [T_ST_QUEUED] = {"已收到，正在等待客服处理", "Received, waiting for an agent"},
    [T_ST_IN_PROGRESS] = {"客服正在处理", "An agent is working on it"},
    [T_ST_PENDING_CUSTOMER] = {"等待您的回复", "Waiting for your reply"},
    [T_ST_RESOLVED] = {"已解决", "Resolved"},
    [T_ST_CLOSED] = {"已结案", "Closed"},
    [T_ST_REOPENED] = {"已重新处理", "Reopened"},
    [T_ST_UNKNOWN] = {"处理中", "In hand"},
    [T_NEXT_RECEIVED] = {"我们已收到您的投诉，客服会在承诺的时间内联系您。",
                         "We have your complaint. An agent will contact you within the time we "
                         "promised."},
    [T_NEXT_ASSIGNED] = {"已有客服负责您的投诉，很快会联系您。",
                         "An agent has taken your complaint and will contact you soon."},
    [T_NEXT_IN_PROGRESS] = {"客服正在处理您的投诉，有进展会及时告诉您。",
                            "An agent is working on your complaint and will tell you how it "
                            "goes."},
    [T_NEXT_WAITING] = {"我们需要您的回复才能继续处理，请留意我们的电话或邮件。",
                        "We need your answer to go on: watch for our call or e-mail."},
    [T_NEXT_RESOLVED] = {"您的投诉已处理完毕。请告诉我们您对处理结果是否满意。",
                         "Your complaint has been resolved. Please tell us how satisfied you "
                         "are."},
    [T_NEXT_CLOSED] = {"此投诉已结案。如有新的问题，请重新提交投诉。",
                       "This complaint is closed. If something else goes wrong, please make a "
                       "new complaint."},
    [T_NEXT_UNKNOWN] = {"我们正在处理您的投诉。", "We are handling your complaint."},

    [T_CSAT_TITLE] = {"服务评价", "Rate our service"},
    [T_CSAT_LEGEND] = {"您对本次处理满意吗？", "How satisfied are you with how we handled it?"},
    [T_CSAT_1] = {"1 分：非常不满意", "1: very dissatisfied"},
    [T_CSAT_2] = {"2 分：不满意", "2: dissatisfied"},
    [T_CSAT_3] = {"3 分：一般", "3: neither"},
    [T_CSAT_4] = {"4 分：满意", "4: satisfied"},
    [T_CSAT_5] = {"5 分：非常满意", "5: very satisfied"},
    [T_CSAT_COMMENT] = {"您的意见", "Your comments"},
    [T_CSAT_COMMENT_HINT] = {"最多 1000 字。", "At most 1,000 characters."},
    [T_CSAT_SUBMIT] = {"提交评价", "Send the rating"},
    [T_CSAT_GIVEN] = {"您的评分：", "Your rating: "},
    [T_CSAT_YOUR_COMMENT] = {"您的意见：", "Your comments:"},
    [T_CSAT_LATER] = {"问题解决后，您可以在这里为我们的服务评分。",
                      "When your complaint is resolved, you can rate our service here."},
    [T_CSAT_THANKS_TITLE] = {"感谢您的评价", "Thank you for your rating"},
    [T_CSAT_THANKS] = {"您的评价会帮助我们改进服务。", "Your rating helps us serve you better."},
    [T_BACK_TO_STATUS] = {"返回处理进度", "Back to your complaint"},

    [T_ERR_400_TITLE] = {"请求无效", "We could not read that request"},
    [T_ERR_400] = {"我们无法处理这个请求。请返回表单重新提交。",
                   "Please go back to the form and send it again."},
    [T_ERR_403_TITLE] = {"无法提交", "The form could not be sent"},
    [T_ERR_403] = {"表单已过期，或不是从本网站提交的。请返回表单重新提交。",
                   "The form expired or did not come from this site. Please go back to the form "
                   "and send it again."},
    [T_ERR_404_TITLE] = {"找不到页面", "Page not found"},
    [T_ERR_404] = {"找不到这个页面或投诉。如果您是通过链接打开的，请检查链接是否完整。",
                   "We cannot find this page or complaint. If you followed a link, check that "
                   "it is complete."},
    [T_ERR_405_TITLE] = {"不支持此操作", "That is not possible here"},
    [T_ERR_405] = {"此页面不支持这种请求方式。", "This page does not accept that kind of request."},
    [T_ERR_413_TITLE] = {"内容太长", "Too much to send"},
    [T_ERR_413] = {"提交的内容超出了允许的长度，请缩短后重新提交。",
                   "What you sent is longer than we accept. Please shorten it and send it again."},
    [T_ERR_429_TITLE] = {"请求过于频繁", "Too many requests"},
    [T_ERR_429] = {"请稍等几分钟后再试。", "Please wait a few minutes and try again."},
    [T_ERR_500_TITLE] = {"系统出错", "Something went wrong"},
    [T_ERR_500] = {"我们这边出了问题，您的请求没有完成。请稍后再试。",
                   "Something went wrong on our side and your request was not completed. "
                   "Please try again later."},
    [T_ERR_503_TITLE] = {"服务繁忙", "Our service is busy"},
    [T_ERR_503] = {"服务暂时繁忙，您的请求没有完成。请稍后再试。",
                   "Our service is busy and your request was not completed. Please try again "
                   "in a moment."},
    [T_BACK_TO_FORM] = {"返回投诉表单", "Back to the complaint form"},
};

/* The text id in lang. */
static const char *
tr(enum gw_lang lang, enum text_id id)
{
	return text[id][lang == EN ? 1 : 0];
}

/* A choice of a select: its value and its text. */
struct choice {
	const char *value;
	enum text_id label;
};

static const struct choice categories[] = {
    {"delivery", T_CAT_DELIVERY}, {"product", T_CAT_PRODUCT}, {"refund", T_CAT_REFUND},
    {"service", T_CAT_SERVICE},   {"billing", T_CAT_BILLING}, {"other", T_CAT_OTHER},
};
static const struct choice resolutions[] = {
    {"refund", T_RES_REFUND},   {"exchange", T_RES_EXCHANGE},
    {"apology", T_RES_APOLOGY}, {"compensation", T_RES_COMPENSATION},
    {"other", T_RES_OTHER},
};
static const struct choice urgencies[] = {
    {"low", T_URG_LOW},
    {"normal", T_URG_NORMAL},
    {"high", T_URG_HIGH},
    {"urgent", T_URG_URGENT},
};
/* States, as the status page and the timeline name them. */
static const struct choice states[] = {
    {"new", T_ST_NEW},
    {"queued", T_ST_QUEUED},
    {"offered", T_ST_QUEUED}, /* an offer is internal: still waiting for an agent */
    {"in_progress", T_ST_IN_PROGRESS},
    {"pending_customer", T_ST_PENDING_CUSTOMER},
    {"resolved", T_ST_RESOLVED},
    {"closed", T_ST_CLOSED},
    {"reopened", T_ST_REOPENED},
};
static const struct choice next_steps[] = {
    {"received", T_NEXT_RECEIVED},       {"assigned", T_NEXT_ASSIGNED},
    {"in_progress", T_NEXT_IN_PROGRESS}, {"waiting_for_you", T_NEXT_WAITING},
    {"resolved", T_NEXT_RESOLVED},       {"closed", T_NEXT_CLOSED},
};
static const enum text_id csat_labels[5] = {T_CSAT_1, T_CSAT_2, T_CSAT_3, T_CSAT_4, T_CSAT_5};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The text of value among n choices, or fallback when it is not one. */
static enum text_id
choice_text(const struct choice *c, size_t n, const char *value, enum text_id fallback)
{
	size_t i;

	if (value == NULL)
		return fallback;
	for (i = 0; i < n; i++)
		if (strcmp(c[i].value, value) == 0)
			return c[i].label;
	return fallback;
}

/* The messages of page_problem_text: one field's problem, or any field's
 * (field NULL) as the fallback. */
static const struct {
	const char *field;
	enum gw_problem problem;
	const char *msg[2];
} problems[] = {
    {"name", GW_PROBLEM_MISSING, {"请填写您的姓名", "Enter your name"}},
    {"name",
     GW_PROBLEM_TOO_LONG,
     {"姓名不能超过 128 个字", "Your name must be 128 characters or fewer"}},
    {"name",
     GW_PROBLEM_INVALID,
     {"姓名中有无法识别的字符", "Your name has characters we cannot read"}},
    {"phone", GW_PROBLEM_MISSING, {"请填写电话号码", "Enter a phone number"}},
    {"phone", GW_PROBLEM_TOO_LONG, {"电话号码太长", "The phone number is too long"}},
    {"phone",
     GW_PROBLEM_INVALID,
     {"请填写有效的电话号码，例如 138 0013 8000",
      "Enter a valid phone number, like 138 0013 8000"}},
    {"phone",
     GW_PROBLEM_CONTACT,
     {"请至少填写电话号码或电子邮箱中的一项，以便我们联系您",
      "Enter a phone number or an e-mail address so that we can reach you"}},
    {"email", GW_PROBLEM_MISSING, {"请填写电子邮箱", "Enter an e-mail address"}},
    {"email",
     GW_PROBLEM_TOO_LONG,
     {"电子邮箱不能超过 254 个字符", "The e-mail address must be 254 characters or fewer"}},
    {"email",
     GW_PROBLEM_INVALID,
     {"请填写有效的电子邮箱，例如 name@example.com",
      "Enter a valid e-mail address, like name@example.com"}},
    {"order",
     GW_PROBLEM_TOO_LONG,
     {"订单号不能超过 64 个字符", "The order number must be 64 characters or fewer"}},
    {"order",
     GW_PROBLEM_INVALID,
     {"订单号中有无法识别的字符", "The order number has characters we cannot read"}},
    {"category", GW_PROBLEM_MISSING, {"请选择投诉类型", "Choose what the complaint is about"}},
    {"category",
     GW_PROBLEM_CHOICE,
     {"请从列出的投诉类型中选择一项", "Choose one of the listed subjects"}},
    {"description", GW_PROBLEM_MISSING, {"请描述您遇到的问题", "Tell us what happened"}},
    {"description",
     GW_PROBLEM_TOO_LONG,
     {"问题描述不能超过 4000 字", "The description must be 4,000 characters or fewer"}},
    {"description",
     GW_PROBLEM_INVALID,
     {"问题描述中有无法识别的字符", "The description has characters we cannot read"}},
    {"resolution",
     GW_PROBLEM_MISSING,
     {"请选择期望的处理方式", "Choose what you would like us to do"}},
    {"resolution",
     GW_PROBLEM_CHOICE,
     {"请从列出的处理方式中选择一项", "Choose one of the listed resolutions"}},
    {"urgency", GW_PROBLEM_MISSING, {"请选择紧急程度", "Choose how urgent it is"}},
    {"urgency",
     GW_PROBLEM_CHOICE,
     {"请从列出的紧急程度中选择一项", "Choose one of the listed urgencies"}},
    {"score", GW_PROBLEM_MISSING, {"请选择 1 到 5 分", "Choose a score from 1 to 5"}},
    {"score", GW_PROBLEM_CHOICE, {"请选择 1 到 5 分", "Choose a score from 1 to 5"}},
    {"score", GW_PROBLEM_INVALID, {"请选择 1 到 5 分", "Choose a score from 1 to 5"}},
    {"comment",
     GW_PROBLEM_TOO_LONG,
     {"评价意见不能超过 1000 字", "Your comments must be 1,000 characters or fewer"}},
    {"comment",
     GW_PROBLEM_INVALID,
     {"评价意见中有无法识别的字符", "Your comments have characters we cannot read"}},
    {NULL, GW_PROBLEM_MISSING, {"此项为必填项", "This field is required"}},
    {NULL, GW_PROBLEM_TOO_LONG, {"内容太长", "This is too long"}},
    {NULL, GW_PROBLEM_INVALID, {"格式不正确", "This is not valid"}},
    {NULL, GW_PROBLEM_CHOICE, {"请从列出的选项中选择一项", "Choose one of the options"}},
    {NULL,
     GW_PROBLEM_CONTACT,
     {"请至少填写电话号码或电子邮箱中的一项，以便我们联系您",
      "Enter a phone number or an e-mail address so that we can reach you"}},
};

const char *
page_problem_text(enum gw_lang lang, const struct gw_field_error *e)
{
	int l = lang == EN ? 1 : 0;
	size_t i;

	for (i = 0; i < NITEMS(problems); i++)
		if (problems[i].field != NULL && e->field != NULL &&
		    strcmp(problems[i].field, e->field) == 0 && problems[i].problem == e->problem)
			return problems[i].msg[l];
	for (i = 0; i < NITEMS(problems); i++)
		if (problems[i].field == NULL && problems[i].problem == e->problem)
			return problems[i].msg[l];
	return l ? "This is not valid" : "格式不正确";
}

enum gw_lang
page_lang(const char *query_lang, const char *cookie_lang)
{
	const char *tags[2] = {query_lang, cookie_lang};
	size_t i;

	/* language tags are case-insensitive (RFC 5646 2.1.1) */
	for (i = 0; i < 2; i++) {
		if (tags[i] == NULL)
			continue;
		if (strcasecmp(tags[i], "en") == 0)
			return GW_LANG_EN;
		if (strcasecmp(tags[i], "zh-CN") == 0)
			return GW_LANG_ZH;
	}
	return GW_LANG_ZH;
}

const char *
page_lang_code(enum gw_lang lang)
{
	return lang == EN ? "en" : "zh-CN";
}

/* Write s (NUL-terminated) as it is. */
static void
put(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, s, strlen(s));
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not a well-formed sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* HTML-escape len bytes of s; with lines, a line break becomes <br>.
 * "\r\n" is one line break (what a browser sends for a textarea's). */
static void
escape_bytes(struct evbuffer *out, const char *str, size_t len, int lines)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, n;
	const char *rep;
	uint32_t cp;

	while (i < len) {
		rep = NULL;
		n = 1;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\t':
			break;
		case '\n':
			if (lines)
				rep = "<br>\n";
			break;
		case '\r':
			if (i + 1 < len && s[i + 1] == '\n') {
				rep = ""; /* the \n that follows is the line break */
				break;
			}
			rep = REPLACEMENT;
			break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7f) {
				rep = REPLACEMENT; /* C0 controls (ESC among them), DEL */
				break;
			}
			if (s[i] < 0x80)
				break;
			n = utf8_seq(s + i, len - i, &cp);
			if (n == 0) {
				n = 1;
				rep = REPLACEMENT; /* not UTF-8: one byte at a time */
			} else if (cp >= 0x80 && cp <= 0x9f) {
				rep = REPLACEMENT; /* C1 controls (CSI among them) */
			} else if ((cp >= 0x202a && cp <= 0x202e) ||
			           (cp >= 0x2066 && cp <= 0x2069)) {
				rep = REPLACEMENT; /* bidi embeddings, overrides, isolates */
			}
			break;
		}
		if (rep == NULL) {
			i += n;
			continue;
		}
		if (i > run)
			evbuffer_add(out, s + run, i - run);
		put(out, rep);
		i += n;
		run = i;
	}
	if (i > run)
		evbuffer_add(out, s + run, i - run);
}

void
page_escape(struct evbuffer *out, const char *s)
{
	if (s != NULL)
		escape_bytes(out, s, strlen(s), 0);
}

/* Escape a field of struct gw_form (bounded by its size, in case). */
static void
escape_field(struct evbuffer *out, const char *s, size_t size)
{
	escape_bytes(out, s, strnlen(s, size), 0);
}

/* Escape a text, keeping its line breaks as <br>. */
static void
escape_lines(struct evbuffer *out, const char *s)
{
	if (s != NULL)
		escape_bytes(out, s, strlen(s), 1);
}

/* Write the text id in lang, escaped. */
static void
put_text(struct evbuffer *out, enum gw_lang lang, enum text_id id)
{
	page_escape(out, tr(lang, id));
}

/* Write s percent-encoded for a URL path or query (RFC 3986 unreserved
 * characters stay). */
static void
put_uri_component(struct evbuffer *out, const char *s)
{
	char *enc = evhttp_uriencode(s != NULL ? s : "", -1, 0);

	if (enc != NULL) {
		page_escape(out, enc);
		free(enc);
	}
}

/* Write url with "lang=<code>" added to its query, escaped for an
 * attribute. */
static void
put_lang_url(struct evbuffer *out, const char *url, enum gw_lang lang)
{
	page_escape(out, url);
	evbuffer_add_printf(out, "%slang=%s", strchr(url, '?') != NULL ? "&amp;" : "?",
	                    page_lang_code(lang));
}

/* Start a page: the document head, the site header with the language
 * switch (to switch_url in the other language) and the opening of <main>.
 * With private set, the page asks not to be indexed. */
static void
page_begin(struct evbuffer *out, enum gw_lang lang, const char *title, int has_error,
           const char *switch_url, int private_page)
{
	enum gw_lang other = lang == EN ? ZH : EN;

	evbuffer_add_printf(
	    out,
	    "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"referrer\" content=\"no-referrer\">\n"
	    "<meta name=\"color-scheme\" content=\"light\">\n",
	    page_lang_code(lang));
	if (private_page)
		put(out, "<meta name=\"robots\" content=\"noindex, nofollow\">\n");
	put(out, "<title>");
	if (has_error)
		put_text(out, lang, T_ERROR_PREFIX);
	page_escape(out, title);
	put(out, " - ");
	put_text(out, lang, T_SITE);
	put(out, "</title>\n<link rel=\"stylesheet\" href=\"/static/gateway.css\">\n</head>\n"
	         "<body>\n<a class=\"skip\" href=\"#main\">");
	put_text(out, lang, T_SKIP);
	put(out, "</a>\n<header class=\"site\">\n<p class=\"brand\">");
	put_text(out, lang, T_SITE);
	put(out, "</p>\n<nav class=\"lang\" aria-label=\"");
	put_text(out, lang, T_LANG_NAV);
	evbuffer_add_printf(out, "\">\n<a href=\"");
	put_lang_url(out, switch_url, other);
	evbuffer_add_printf(out, "\" lang=\"%s\" hreflang=\"%s\">%s</a>\n</nav>\n</header>\n",
	                    page_lang_code(other), page_lang_code(other),
	                    other == EN ? "English" : "中文");
	put(out, "<main id=\"main\" tabindex=\"-1\">\n");
}

/* End a page. */
static void
page_end(struct evbuffer *out, enum gw_lang lang)
{
	put(out, "</main>\n<footer class=\"site\">\n<p>");
	put_text(out, lang, T_FOOTER);
	put(out, "</p>\n</footer>\n</body>\n</html>\n");
}

/* Split a Unix time in ms into the broken-down time of lang's zone (UTC+8
 * for zh-CN, UTC for English) and the UTC time; 0 when out of range. */
static int
split_time(enum gw_lang lang, int64_t ms, struct tm *local, struct tm *utc)
{
	int64_t sec;
	time_t t, lt;

	/* ±10^15 ms is 30,000 years either way: beyond that, not a time */
	if (ms < -1000000000000000LL || ms > 1000000000000000LL)
		return 0;
	sec = ms / 1000 - (ms % 1000 < 0);
	t = (time_t)sec;
	lt = (time_t)(sec + (lang == EN ? 0 : 8 * 3600));
	return gmtime_r(&t, utc) != NULL && gmtime_r(&lt, local) != NULL;
}

/* Write a <time> for ms in lang's zone. */
static void
put_time(struct evbuffer *out, enum gw_lang lang, int64_t ms)
{
	static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm local, utc;

	if (!split_time(lang, ms, &local, &utc)) {
		put(out, "-");
		return;
	}
	evbuffer_add_printf(out, "<time datetime=\"%04d-%02d-%02dT%02d:%02d:%02dZ\">",
	                    utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
	                    utc.tm_min, utc.tm_sec);
	if (lang == EN)
		evbuffer_add_printf(out, "%d %s %04d, %02d:%02d UTC", local.tm_mday,
		                    months[local.tm_mon], local.tm_year + 1900, local.tm_hour,
		                    local.tm_min);
	else
		evbuffer_add_printf(out, "%04d年%d月%d日 %02d:%02d", local.tm_year + 1900,
		                    local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min);
	put(out, "</time>");
}

/* Write "overdue". */
static void
put_overdue(struct evbuffer *out, enum gw_lang lang)
{
	put(out, "<strong class=\"overdue\">");
	put_text(out, lang, T_OVERDUE);
	put(out, "</strong>");
}

/* Write the time left until due ("还剩 2 小时 5 分钟", "2 hours 5 minutes
 * left"), or "overdue". */
static void
put_time_left(struct evbuffer *out, enum gw_lang lang, int64_t due, int64_t now)
{
	int64_t min, days, hours, mins;

	if (due <= now) {
		put_overdue(out, lang);
		return;
	}
	min = (due - now) / 60000;
	if (min == 0) {
		put_text(out, lang, T_LEFT_LESS_THAN_MINUTE);
		return;
	}
	days = min / 1440;
	hours = min % 1440 / 60;
	mins = min % 60;
	/* the two largest units, the second left out when it is zero */
	if (lang == EN) {
		if (days > 0)
			evbuffer_add_printf(out, "%" PRId64 " day%s", days, days == 1 ? "" : "s");
		if (days > 0 && hours > 0)
			evbuffer_add_printf(out, " %" PRId64 " hour%s", hours,
			                    hours == 1 ? "" : "s");
		if (days == 0 && hours > 0)
			evbuffer_add_printf(out, "%" PRId64 " hour%s", hours,
			                    hours == 1 ? "" : "s");
		if (days == 0 && hours > 0 && mins > 0)
			put(out, " ");
		if (days == 0 && mins > 0)
			evbuffer_add_printf(out, "%" PRId64 " minute%s", mins,
			                    mins == 1 ? "" : "s");
		put(out, " left");
	} else {
		put(out, "还剩 ");
		if (days > 0)
			evbuffer_add_printf(out, "%" PRId64 " 天", days);
		if (days > 0 && hours > 0)
			evbuffer_add_printf(out, " %" PRId64 " 小时", hours);
		if (days == 0 && hours > 0)
			evbuffer_add_printf(out, "%" PRId64 " 小时", hours);
		if (days == 0 && hours > 0 && mins > 0)
			put(out, " ");
		if (days == 0 && mins > 0)
			evbuffer_add_printf(out, "%" PRId64 " 分钟", mins);
	}
}

/* Write the timezone note of a page that shows times. */
static void
put_tz_note(struct evbuffer *out, enum gw_lang lang)
{
	put(out, "<p class=\"note\">");
	put_text(out, lang, T_TZ_NOTE);
	put(out, "</p>\n");
}

/* The error about field among errors, or NULL. */
static const struct gw_field_error *
find_error(const struct gw_field_error *errors, size_t nerrors, const char *field)
{
	size_t i;

	for (i = 0; i < nerrors; i++)
		if (errors[i].field != NULL && strcmp(errors[i].field, field) == 0)
			return &errors[i];
	return NULL;
}

/* The fields of the complaint form, in their order on the page. */
static const char *const form_fields[] = {"name",     "phone",       "email",      "order",
                                          "category", "description", "resolution", "urgency"};

/* Whether field is one of the form's. */
static int
is_form_field(const char *field)
{
	size_t i;

	if (field == NULL)
		return 0;
	for (i = 0; i < NITEMS(form_fields); i++)
		if (strcmp(form_fields[i], field) == 0)
			return 1;
	return 0;
}

/* Open a field: its wrapper, <label for>, hint (hint_id, or none when
 * T_COUNT) and error message. */
static void
field_begin(struct evbuffer *out, enum gw_lang lang, const char *name, enum text_id label,
            int required, enum text_id hint, const struct gw_field_error *err)
{
	evbuffer_add_printf(out, "<div class=\"field%s\">\n<label for=\"%s\">",
	                    err != NULL ? " field-error" : "", name);
	put_text(out, lang, label);
	put(out, " <span class=\"tag\">");
	put_text(out, lang, required ? T_REQUIRED : T_OPTIONAL);
	put(out, "</span></label>\n");
	if (hint != T_COUNT) {
		evbuffer_add_printf(out, "<p class=\"hint\" id=\"%s-hint\">", name);
		put_text(out, lang, hint);
		put(out, "</p>\n");
	}
	if (err != NULL) {
		evbuffer_add_printf(out, "<p class=\"error\" id=\"%s-error\"><span class=\"vh\">",
		                    name);
		put_text(out, lang, T_ERROR_PREFIX);
		put(out, "</span>");
		page_escape(out, page_problem_text(lang, err));
		put(out, "</p>\n");
	}
}

/* The attributes every control has: id, name, the descriptions and
 * aria-invalid when it is refused. */
static void
control_attrs(struct evbuffer *out, const char *name, int has_hint, int required,
              const struct gw_field_error *err)
{
	evbuffer_add_printf(out, " id=\"%s\" name=\"%s\"", name, name);
	if (has_hint && err != NULL)
		evbuffer_add_printf(out, " aria-describedby=\"%s-hint %s-error\"", name, name);
	else if (has_hint)
		evbuffer_add_printf(out, " aria-describedby=\"%s-hint\"", name);
	else if (err != NULL)
		evbuffer_add_printf(out, " aria-describedby=\"%s-error\"", name);
	if (err != NULL)
		put(out, " aria-invalid=\"true\"");
	if (required)
		put(out, " required");
}

/* A one-line text input. */
static void
form_input(struct evbuffer *out, enum gw_lang lang, const char *name, const char *type,
           const char *autocomplete, const char *inputmode, int maxlength, enum text_id label,
           int required, enum text_id hint, const char *value, size_t value_size,
           const struct gw_field_error *err)
{
	field_begin(out, lang, name, label, required, hint, err);
	evbuffer_add_printf(out, "<input type=\"%s\"", type);
	control_attrs(out, name, hint != T_COUNT, required, err);
	evbuffer_add_printf(out, " autocomplete=\"%s\" maxlength=\"%d\"", autocomplete, maxlength);
	if (inputmode != NULL)
		evbuffer_add_printf(out, " inputmode=\"%s\"", inputmode);
	put(out, " value=\"");
	if (value != NULL)
		escape_field(out, value, value_size);
	put(out, "\">\n</div>\n");
}

/* A select of n choices with value selected (first_empty: a "choose one"
 * option first, selected when value is none of them). */
static void
form_select(struct evbuffer *out, enum gw_lang lang, const char *name, enum text_id label,
            int required, const struct choice *c, size_t n, const char *value, int first_empty,
            const char *fallback, const struct gw_field_error *err)
{
	size_t i;
	int found = 0;

	for (i = 0; value != NULL && i < n; i++)
		if (strcmp(c[i].value, value) == 0)
			found = 1;
	if (!found && !first_empty)
		value = fallback;
	field_begin(out, lang, name, label, required, T_COUNT, err);
	put(out, "<select");
	control_attrs(out, name, 0, required, err);
	put(out, ">\n");
	if (first_empty) {
		evbuffer_add_printf(out, "<option value=\"\"%s>", found ? "" : " selected");
		put_text(out, lang, T_CHOOSE);
		put(out, "</option>\n");
	}
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(out, "<option value=\"%s\"%s>", c[i].value,
		                    value != NULL && strcmp(c[i].value, value) == 0 ? " selected"
		                                                                    : "");
		put_text(out, lang, c[i].label);
		put(out, "</option>\n");
	}
	put(out, "</select>\n</div>\n");
}

/* The notice above a form for banner (GW_BANNER_INVALID comes with the
 * error summary instead). */
static void
put_banner(struct evbuffer *out, enum gw_lang lang, enum gw_banner banner)
{
	enum text_id id;

	switch (banner) {
	case GW_BANNER_UNAVAILABLE:
		id = T_BANNER_UNAVAILABLE;
		break;
	case GW_BANNER_EXPIRED:
		id = T_BANNER_EXPIRED;
		break;
	case GW_BANNER_RATE_LIMITED:
		id = T_BANNER_RATE_LIMITED;
		break;
	default:
		return;
	}
	put(out, "<div class=\"banner\" role=\"alert\">\n<p>");
	put_text(out, lang, id);
	put(out, "</p>\n</div>\n");
}

/* The error summary at the top of a refused form: each problem linked to
 * its field. */
static void
put_error_summary(struct evbuffer *out, enum gw_lang lang, const struct gw_field_error *errors,
                  size_t nerrors, int banner_invalid)
{
	size_t i;

	if (nerrors == 0 && !banner_invalid)
		return;
	put(out,
	    "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\" "
	    "tabindex=\"-1\">\n<h2 id=\"error-summary-title\">");
	put_text(out, lang, T_SUMMARY_TITLE);
	put(out, "</h2>\n");
	if (nerrors == 0) {
		put(out, "<p>");
		put_text(out, lang, T_BANNER_INVALID);
		put(out, "</p>\n</div>\n");
		return;
	}
	put(out, "<ul>\n");
	for (i = 0; i < nerrors; i++) {
		if (is_form_field(errors[i].field))
			evbuffer_add_printf(out, "<li><a href=\"#%s\">", errors[i].field);
		else
			put(out, "<li>");
		page_escape(out, page_problem_text(lang, &errors[i]));
		put(out, is_form_field(errors[i].field) ? "</a></li>\n" : "</li>\n");
	}
	put(out, "</ul>\n</div>\n");
}

void
page_form(struct evbuffer *out, enum gw_lang lang, const char *form_token, const struct gw_form *f,
          const struct gw_field_error *errors, size_t nerrors, enum gw_banner banner)
{
	static const struct gw_form empty;
	const struct gw_field_error *contact;

	if (f == NULL)
		f = &empty;
	if (errors == NULL)
		nerrors = 0;
	page_begin(out, lang, tr(lang, T_FORM_TITLE), nerrors > 0 || banner == GW_BANNER_INVALID,
	           "/", 0);
	put(out, "<h1>");
	put_text(out, lang, T_FORM_TITLE);
	put(out, "</h1>\n");
	put_banner(out, lang, banner);
	put_error_summary(out, lang, errors, nerrors, banner == GW_BANNER_INVALID);
	put(out, "<p class=\"lead\">");
	put_text(out, lang, T_FORM_INTRO);
	put(out, "</p>\n<form method=\"post\" action=\"/complaints\" accept-charset=\"UTF-8\" "
	         "novalidate>\n<input type=\"hidden\" name=\"form_token\" value=\"");
	page_escape(out, form_token);
	put(out, "\">\n");

	put(out, "<fieldset>\n<legend><h2>");
	put_text(out, lang, T_FORM_ABOUT_YOU);
	put(out, "</h2></legend>\n<p class=\"hint\">");
	put_text(out, lang, T_FORM_CONTACT_HINT);
	put(out, "</p>\n");
	form_input(out, lang, "name", "text", "name", NULL, 128, T_NAME, 1, T_NAME_HINT, f->name,
	           sizeof f->name, find_error(errors, nerrors, "name"));
	form_input(out, lang, "phone", "tel", "tel", "tel", 32, T_PHONE, 0, T_PHONE_HINT, f->phone,
	           sizeof f->phone, find_error(errors, nerrors, "phone"));
	/* "neither phone nor e-mail" is reported on phone; mark e-mail too */
	contact = find_error(errors, nerrors, "phone");
	if (contact != NULL && contact->problem != GW_PROBLEM_CONTACT)
		contact = NULL;
	form_input(out, lang, "email", "email", "email", "email", 254, T_EMAIL, 0, T_EMAIL_HINT,
	           f->email, sizeof f->email,
	           find_error(errors, nerrors, "email") != NULL
	               ? find_error(errors, nerrors, "email")
	               : contact);
	put(out, "</fieldset>\n");

	put(out, "<fieldset>\n<legend><h2>");
	put_text(out, lang, T_FORM_ABOUT_COMPLAINT);
	put(out, "</h2></legend>\n");
	form_input(out, lang, "order", "text", "off", NULL, 64, T_ORDER, 0, T_ORDER_HINT, f->order,
	           sizeof f->order, find_error(errors, nerrors, "order"));
	form_select(out, lang, "category", T_CATEGORY, 1, categories, NITEMS(categories),
	            f->category, 1, NULL, find_error(errors, nerrors, "category"));

	field_begin(out, lang, "description", T_DESCRIPTION, 1, T_DESCRIPTION_HINT,
	            find_error(errors, nerrors, "description"));
	put(out, "<textarea rows=\"8\" maxlength=\"4000\"");
	control_attrs(out, "description", 1, 1, find_error(errors, nerrors, "description"));
	/* a newline right after <textarea> is dropped by the parser: add one
	 * so that a description starting with a blank line keeps it */
	put(out, ">\n");
	escape_field(out, f->description, sizeof f->description);
	put(out, "</textarea>\n</div>\n");

	form_select(out, lang, "resolution", T_RESOLUTION, 1, resolutions, NITEMS(resolutions),
	            f->resolution, 1, NULL, find_error(errors, nerrors, "resolution"));
	form_select(out, lang, "urgency", T_URGENCY, 0, urgencies, NITEMS(urgencies), f->urgency, 0,
	            "normal", find_error(errors, nerrors, "urgency"));
	put(out, "</fieldset>\n");

	/* the honeypot: people never see it, form-filling robots do */
	put(out, "<div class=\"hp\" aria-hidden=\"true\">\n<label for=\"website\">");
	put_text(out, lang, T_HONEYPOT);
	put(out, "</label>\n<input type=\"text\" id=\"website\" name=\"website\" value=\"\" "
	         "tabindex=\"-1\" autocomplete=\"off\">\n</div>\n");

	put(out, "<p class=\"note\">");
	put_text(out, lang, T_PRIVACY);
	put(out, "</p>\n<button type=\"submit\" class=\"primary\">");
	put_text(out, lang, T_SUBMIT);
	put(out, "</button>\n</form>\n");
	page_end(out, lang);
}

/* One promised time of the confirmation: "by <time> (2 hours left)". */
static void
put_promise(struct evbuffer *out, enum gw_lang lang, enum text_id label, int64_t due,
            int64_t now_ms)
{
	put(out, "<dt>");
	put_text(out, lang, label);
	put(out, "</dt>\n<dd>");
	if (due == INT64_MIN) {
		put_text(out, lang, T_NOT_SET);
	} else {
		put_text(out, lang, T_BY);
		put_time(out, lang, due);
		put(out, lang == EN ? " (" : "（");
		put_time_left(out, lang, due, now_ms);
		put(out, lang == EN ? ")" : "）");
	}
	put(out, "</dd>\n");
}

void
page_confirm(struct evbuffer *out, enum gw_lang lang, const char *ref, const char *status_url,
             int64_t first_response_due, int64_t resolution_due, int64_t now_ms)
{
	if (status_url == NULL)
		status_url = "/";
	/* the page answers a POST: its language switch leads to the status
	 * page, the one place the complaint can be shown again */
	page_begin(out, lang, tr(lang, T_CONFIRM_TITLE), 0, status_url, 1);
	put(out, "<h1>");
	put_text(out, lang, T_CONFIRM_TITLE);
	put(out, "</h1>\n<div class=\"panel confirm\">\n<p>");
	put_text(out, lang, T_CONFIRM_REF);
	put(out, "</p>\n<p class=\"ref\" id=\"ref\">");
	page_escape(out, ref);
	put(out, "</p>\n</div>\n<p>");
	put_text(out, lang, T_CONFIRM_INTRO);
	put(out, "</p>\n<h2>");
	put_text(out, lang, T_CONFIRM_LINK);
	put(out, "</h2>\n<p>");
	put_text(out, lang, T_CONFIRM_LINK_INTRO);
	put(out, "</p>\n<p><a class=\"button\" id=\"status-link\" href=\"");
	page_escape(out, status_url);
	put(out, "\">");
	put_text(out, lang, T_CONFIRM_LINK);
	put(out, "</a></p>\n<p class=\"note\">");
	put_text(out, lang, T_CONFIRM_KEEP);
	put(out, "</p>\n<h2>");
	put_text(out, lang, T_PROMISES);
	put(out, "</h2>\n");
	put_tz_note(out, lang);
	put(out, "<dl class=\"facts\">\n");
	put_promise(out, lang, T_FIRST_RESPONSE, first_response_due, now_ms);
	put_promise(out, lang, T_RESOLUTION_DUE, resolution_due, now_ms);
	put(out, "</dl>\n");
	page_end(out, lang);
}

/* A member of o as a string, or NULL. */
static const char *
get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A member of o as an integer time; 0 when it is not one. */
static int
get_ms(const json_t *o, const char *key, int64_t *ms)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return 0;
	*ms = json_integer_value(v);
	return 1;
}

/* One SLA clock of the status page: when it is due, and met, overdue,
 * paused or the time left. */
static void
put_clock(struct evbuffer *out, enum gw_lang lang, enum text_id label, const json_t *clock,
          int64_t now_ms)
{
	int64_t due = 0, met = 0;
	int has_due = get_ms(clock, "due_at", &due);
	int has_met = get_ms(clock, "met_at", &met);
	int breached = json_is_true(json_object_get(clock, "breached"));
	const char *state = get_str(clock, "state");

	put(out, "<dt>");
	put_text(out, lang, label);
	put(out, "</dt>\n<dd>");
	if (has_met) {
		put(out, "<strong class=\"met\">");
		put_text(out, lang, breached || (has_due && met > due) ? T_MET_LATE : T_MET);
		put(out, "</strong>");
		put(out, lang == EN ? " (" : "（");
		put_time(out, lang, met);
		put(out, lang == EN ? ")" : "）");
	} else if (!has_due) {
		put_text(out, lang, T_NOT_SET);
	} else {
		put_text(out, lang, T_BY);
		put_time(out, lang, due);
		put(out, lang == EN ? " (" : "（");
		if (breached || due <= now_ms)
			put_overdue(out, lang);
		else if (state != NULL && strcmp(state, "paused") == 0)
			put_text(out, lang, T_PAUSED);
		else
			put_time_left(out, lang, due, now_ms);
		put(out, lang == EN ? ")" : "）");
	}
	put(out, "</dd>\n");
}

/* A row of the summary list: a label and a text (escaped) or a time. */
static void
put_fact(struct evbuffer *out, enum gw_lang lang, enum text_id label, const char *value)
{
	put(out, "<dt>");
	put_text(out, lang, label);
	put(out, "</dt>\n<dd>");
	page_escape(out, value);
	put(out, "</dd>\n");
}

/* A row of the summary list with a time. */
static void
put_time_fact(struct evbuffer *out, enum gw_lang lang, enum text_id label, const json_t *o,
              const char *key)
{
	int64_t ms;

	if (!get_ms(o, key, &ms))
		return;
	put(out, "<dt>");
	put_text(out, lang, label);
	put(out, "</dt>\n<dd>");
	put_time(out, lang, ms);
	put(out, "</dd>\n");
}

/* The timeline, oldest first: each entry a time, what happened and the
 * text of a reply or of the customer's own message. */
static void
put_timeline(struct evbuffer *out, enum gw_lang lang, const json_t *timeline)
{
	const char *kind, *s;
	size_t i, shown = 0;
	json_t *ev;
	int64_t at;

	put(out, "<h2>");
	put_text(out, lang, T_TIMELINE);
	put(out, "</h2>\n<ol class=\"timeline\">\n");
	json_array_foreach(timeline, i, ev)
	{
		kind = get_str(ev, "kind");
		if (kind == NULL)
			continue;
		if (strcmp(kind, "reply") == 0)
			put(out, "<li class=\"ev ev-reply\">\n");
		else if (strcmp(kind, "customer") == 0)
			put(out, "<li class=\"ev ev-customer\">\n");
		else if (strcmp(kind, "created") == 0 || strcmp(kind, "state") == 0)
			put(out, "<li class=\"ev\">\n");
		else
			continue;
		shown++;
		put(out, "<p class=\"when\">");
		if (get_ms(ev, "at", &at))
			put_time(out, lang, at);
		put(out, "</p>\n<p class=\"what\">");
		if (strcmp(kind, "created") == 0) {
			put_text(out, lang, T_EV_CREATED);
		} else if (strcmp(kind, "state") == 0) {
			put_text(out, lang, T_EV_STATE);
			put_text(out, lang,
			         choice_text(states, NITEMS(states), get_str(ev, "state"),
			                     T_ST_UNKNOWN));
		} else {
			put_text(out, lang,
			         strcmp(kind, "reply") == 0 ? T_EV_REPLY : T_EV_CUSTOMER);
		}
		put(out, "</p>\n");
		s = get_str(ev, "text");
		if (s != NULL && strcmp(kind, "state") != 0) {
			put(out, "<p class=\"text\">");
			escape_lines(out, s);
			put(out, "</p>\n");
		}
		put(out, "</li>\n");
	}
	put(out, "</ol>\n");
	if (shown == 0) {
		put(out, "<p>");
		put_text(out, lang, T_TIMELINE_EMPTY);
		put(out, "</p>\n");
	}
}

/* The satisfaction part: the form when allowed, the rating when given. */
static void
put_csat(struct evbuffer *out, enum gw_lang lang, const json_t *csat, const char *ref,
         const char *token, const char *form_token)
{
	json_t *score = json_object_get(csat, "score");
	const char *comment = get_str(csat, "comment");
	json_int_t n;
	int i;

	put(out, "<h2 id=\"csat\">");
	put_text(out, lang, T_CSAT_TITLE);
	put(out, "</h2>\n");
	if (json_is_integer(score) && json_integer_value(score) >= 1 &&
	    json_integer_value(score) <= 5) {
		n = json_integer_value(score);
		put(out, "<p class=\"rating\">");
		put_text(out, lang, T_CSAT_GIVEN);
		put_text(out, lang, csat_labels[n - 1]);
		put(out, "</p>\n");
		if (comment != NULL && comment[0] != '\0') {
			put(out, "<p>");
			put_text(out, lang, T_CSAT_YOUR_COMMENT);
			put(out, "</p>\n<p class=\"text\">");
			escape_lines(out, comment);
			put(out, "</p>\n");
		}
		return;
	}
	if (!json_is_true(json_object_get(csat, "allowed"))) {
		put(out, "<p>");
		put_text(out, lang, T_CSAT_LATER);
		put(out, "</p>\n");
		return;
	}
	put(out, "<form method=\"post\" action=\"/status/");
	put_uri_component(out, ref);
	put(out, "/csat\" accept-charset=\"UTF-8\" novalidate>\n"
	         "<input type=\"hidden\" name=\"token\" value=\"");
	page_escape(out, token);
	put(out, "\">\n<input type=\"hidden\" name=\"form_token\" value=\"");
	page_escape(out, form_token);
	put(out, "\">\n<fieldset class=\"scores\">\n<legend>");
	put_text(out, lang, T_CSAT_LEGEND);
	put(out, "</legend>\n");
	for (i = 5; i >= 1; i--) {
		evbuffer_add_printf(out,
		                    "<div class=\"choice\"><input type=\"radio\" id=\"score-%d\" "
		                    "name=\"score\" value=\"%d\"%s><label for=\"score-%d\">",
		                    i, i, i == 5 ? " required" : "", i);
		put_text(out, lang, csat_labels[i - 1]);
		put(out, "</label></div>\n");
	}
	put(out, "</fieldset>\n<div class=\"field\">\n<label for=\"comment\">");
	put_text(out, lang, T_CSAT_COMMENT);
	put(out, " <span class=\"tag\">");
	put_text(out, lang, T_OPTIONAL);
	put(out, "</span></label>\n<p class=\"hint\" id=\"comment-hint\">");
	put_text(out, lang, T_CSAT_COMMENT_HINT);
	put(out, "</p>\n<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"1000\" "
	         "aria-describedby=\"comment-hint\"></textarea>\n</div>\n"
	         "<button type=\"submit\" class=\"primary\">");
	put_text(out, lang, T_CSAT_SUBMIT);
	put(out, "</button>\n</form>\n");
}

/* The status page's own address, "/status/<ref>?token=<token>" (malloc'd),
 * or NULL when out of memory. */
static char *
status_self_url(const char *ref, const char *token)
{
	char *enc_ref = evhttp_uriencode(ref, -1, 0);
	char *enc_token = evhttp_uriencode(token != NULL ? token : "", -1, 0);
	char *url = NULL;
	size_t len;

	if (enc_ref != NULL && enc_token != NULL) {
		len = strlen("/status/?token=") + strlen(enc_ref) + strlen(enc_token) + 1;
		url = malloc(len);
		if (url != NULL)
			snprintf(url, len, "/status/%s?token=%s", enc_ref, enc_token);
	}
	free(enc_ref);
	free(enc_token);
	return url;
}

void
page_status(struct evbuffer *out, enum gw_lang lang, const json_t *complaint, const char *token,
            const char *form_token, int64_t now_ms)
{
	const char *ref = get_str(complaint, "ref");
	const char *state = get_str(complaint, "state");
	char *self;

	if (ref == NULL)
		ref = "";
	self = status_self_url(ref, token);
	page_begin(out, lang, tr(lang, T_STATUS_TITLE), 0, self != NULL ? self : "/", 1);
	free(self);

	put(out, "<h1>");
	put_text(out, lang, T_STATUS_TITLE);
	put(out, "</h1>\n<div class=\"panel\">\n<p class=\"state-label\">");
	put_text(out, lang, T_STATUS_STATE);
	put(out, "</p>\n<p class=\"state\" id=\"state\" data-state=\"");
	page_escape(out, state);
	put(out, "\">");
	put_text(out, lang, choice_text(states, NITEMS(states), state, T_ST_UNKNOWN));
	put(out, "</p>\n</div>\n");

	put_tz_note(out, lang);
	put(out, "<dl class=\"facts\">\n<dt>");
	put_text(out, lang, T_STATUS_REF);
	put(out, "</dt>\n<dd class=\"ref\" id=\"ref\">");
	page_escape(out, ref);
	put(out, "</dd>\n");
	put_time_fact(out, lang, T_STATUS_FILED, complaint, "created_at");
	put_time_fact(out, lang, T_STATUS_UPDATED, complaint, "updated_at");
	if (get_str(complaint, "category") != NULL)
		put_fact(out, lang, T_STATUS_CATEGORY,
		         tr(lang, choice_text(categories, NITEMS(categories),
		                              get_str(complaint, "category"), T_CAT_OTHER)));
	if (get_str(complaint, "resolution") != NULL)
		put_fact(out, lang, T_STATUS_RESOLUTION,
		         tr(lang, choice_text(resolutions, NITEMS(resolutions),
		                              get_str(complaint, "resolution"), T_RES_OTHER)));
	if (get_str(complaint, "urgency") != NULL)
		put_fact(out, lang, T_STATUS_URGENCY,
		         tr(lang, choice_text(urgencies, NITEMS(urgencies),
		                              get_str(complaint, "urgency"), T_URG_NORMAL)));
	put(out, "</dl>\n");

	put(out, "<h2>");
	put_text(out, lang, T_NEXT_STEP);
	put(out, "</h2>\n<p class=\"next\" id=\"next-step\">");
	put_text(out, lang,
	         choice_text(next_steps, NITEMS(next_steps), get_str(complaint, "next_step"),
	                     T_NEXT_UNKNOWN));
	put(out, "</p>\n");

	put(out, "<h2>");
	put_text(out, lang, T_PROMISES);
	put(out, "</h2>\n<dl class=\"facts\">\n");
	put_clock(out, lang, T_FIRST_RESPONSE, json_object_get(complaint, "first_response"),
	          now_ms);
	put_clock(out, lang, T_RESOLUTION_DUE, json_object_get(complaint, "resolution_clock"),
	          now_ms);
	put(out, "</dl>\n");

	put_timeline(out, lang, json_object_get(complaint, "timeline"));
	put_csat(out, lang, json_object_get(complaint, "csat"), ref, token, form_token);
	page_end(out, lang);
}

void
page_csat_thanks(struct evbuffer *out, enum gw_lang lang, const char *status_url)
{
	if (status_url == NULL)
		status_url = "/";
	page_begin(out, lang, tr(lang, T_CSAT_THANKS_TITLE), 0, status_url, 1);
	put(out, "<h1>");
	put_text(out, lang, T_CSAT_THANKS_TITLE);
	put(out, "</h1>\n<p>");
	put_text(out, lang, T_CSAT_THANKS);
	put(out, "</p>\n<p><a class=\"button\" href=\"");
	page_escape(out, status_url);
	put(out, "\">");
	put_text(out, lang, T_BACK_TO_STATUS);
	put(out, "</a></p>\n");
	page_end(out, lang);
}

void
page_error(struct evbuffer *out, enum gw_lang lang, int status)
{
	enum text_id title, msg;

	switch (status) {
	case 400:
		title = T_ERR_400_TITLE, msg = T_ERR_400;
		break;
	case 403:
		title = T_ERR_403_TITLE, msg = T_ERR_403;
		break;
	case 404:
		title = T_ERR_404_TITLE, msg = T_ERR_404;
		break;
	case 405:
		title = T_ERR_405_TITLE, msg = T_ERR_405;
		break;
	case 413:
		title = T_ERR_413_TITLE, msg = T_ERR_413;
		break;
	case 429:
		title = T_ERR_429_TITLE, msg = T_ERR_429;
		break;
	case 503:
		title = T_ERR_503_TITLE, msg = T_ERR_503;
		break;
	default:
		title = T_ERR_500_TITLE, msg = T_ERR_500;
		break;
	}
	page_begin(out, lang, tr(lang, title), 0, "/", 1);
	put(out, "<h1>");
	put_text(out, lang, title);
	put(out, "</h1>\n<p>");
	put_text(out, lang, msg);
	put(out, "</p>\n<p><a class=\"button\" href=\"/\">");
	put_text(out, lang, T_BACK_TO_FORM);
	put(out, "</a></p>\n");
	page_end(out, lang);
}

/* The stylesheet. Mobile first: one fluid column, controls at least 48 px
 * high; wider screens only get more room. Colours meet WCAG AA contrast. */
static const char css[] =
    ":root{--ink:#1d1d1f;--muted:#4a4a55;--line:#8a8a96;--bg:#fff;--soft:#f3f4f7;"
    "--accent:#0b5cad;--accent-dark:#08427d;--error:#b3261e;--ok:#1b6e3a;--focus:#ffbf47}\n"
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);font:1.0625rem/1.6 system-ui,"
    "-apple-system,\"PingFang SC\",\"Hiragino Sans GB\",\"Noto Sans CJK SC\",\"Source Han Sans "
    "SC\","
    "\"Microsoft YaHei\",sans-serif}\n"
    "header.site,main,footer.site{max-width:42rem;margin:0 auto;padding:0 1rem}\n"
    "header.site{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;"
    "gap:.5rem;padding-top:.75rem;padding-bottom:.75rem;border-bottom:1px solid var(--line)}\n"
    ".brand{margin:0;font-weight:700}\n"
    "nav.lang a{display:inline-block;min-height:48px;min-width:48px;padding:.6rem .75rem;"
    "text-align:center}\n"
    "main{padding-top:1rem;padding-bottom:2rem}\n"
    "footer.site{padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);"
    "color:var(--muted);font-size:.9375rem}\n"
    "h1{font-size:1.75rem;line-height:1.25;margin:.5rem 0 1rem}\n"
    "h2{font-size:1.25rem;line-height:1.3;margin:1.75rem 0 .75rem}\n"
    "a{color:var(--accent);text-underline-offset:.15em}\n"
    "a:hover{color:var(--accent-dark)}\n"
    "a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,"
    "textarea:focus-visible,main:focus-visible,.error-summary:focus-visible{outline:3px solid "
    "var(--ink);outline-offset:0;box-shadow:0 0 0 6px var(--focus)}\n"
    "a:focus-visible{background:var(--focus);color:var(--ink);text-decoration:none;"
    "box-shadow:0 4px var(--ink);outline:none}\n"
    ".skip{position:absolute;left:-10000px;top:auto}\n"
    ".skip:focus{position:static;display:block;padding:.75rem 1rem}\n"
    ".vh{position:absolute!important;width:1px;height:1px;margin:0;padding:0;overflow:hidden;"
    "clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;border:0}\n"
    ".hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}\n"
    ".lead{font-size:1.125rem}\n"
    ".note,.hint{color:var(--muted);font-size:.9375rem;margin:.25rem 0 .5rem}\n"
    "fieldset{border:0;margin:0 0 1rem;padding:0;min-width:0}\n"
    "legend{padding:0}\n"
    "legend h2{margin-bottom:.25rem}\n"
    ".field{margin:0 0 1.25rem}\n"
    ".field>label{display:block;font-weight:600;margin-bottom:.25rem}\n"
    ".tag{font-weight:400;color:var(--muted);font-size:.875rem}\n"
    "input[type=text],input[type=tel],input[type=email],select,textarea{display:block;"
    "width:100%;min-height:48px;padding:.6rem .75rem;font:inherit;color:inherit;"
    "background:#fff;border:2px solid var(--ink);border-radius:4px}\n"
    "textarea{min-height:10rem;resize:vertical}\n"
    ".field-error{border-left:5px solid var(--error);padding-left:.9rem}\n"
    ".field-error input,.field-error select,.field-error textarea{border-color:var(--error)}\n"
    ".error{color:var(--error);font-weight:600;margin:.25rem 0 .5rem}\n"
    ".error-summary{border:4px solid var(--error);padding:1rem;margin:0 0 1.5rem}\n"
    ".error-summary h2{margin-top:0}\n"
    ".error-summary ul{margin:0;padding-left:1.25rem}\n"
    ".error-summary a{color:var(--error);font-weight:600}\n"
    ".banner{border-left:6px solid var(--accent);background:var(--soft);padding:.75rem 1rem;"
    "margin:0 0 1.5rem}\n"
    ".banner p{margin:0}\n"
    "button,.button{display:inline-block;min-height:48px;padding:.7rem 1.5rem;font:inherit;"
    "font-weight:600;border-radius:4px;cursor:pointer;text-align:center;text-decoration:none}\n"
    "button.primary,.button{width:100%;color:#fff;background:var(--accent);border:2px solid "
    "var(--accent-dark)}\n"
    "button.primary:hover,.button:hover{background:var(--accent-dark);color:#fff}\n"
    ".panel{background:var(--soft);border-left:6px solid var(--ok);padding:1rem;margin:0 0 1rem}\n"
    ".panel p{margin:0}\n"
    ".ref{font-size:1.5rem;font-weight:700;letter-spacing:.04em;word-break:break-all}\n"
    ".state{font-size:1.375rem;font-weight:700}\n"
    ".facts{margin:0 0 1rem}\n"
    ".facts dt{font-weight:600;margin-top:.5rem}\n"
    ".facts dd{margin:0}\n"
    ".facts dd.ref{font-size:1.125rem}\n"
    ".overdue{color:var(--error)}\n"
    ".met{color:var(--ok)}\n"
    ".timeline{list-style:none;margin:0;padding:0;border-left:3px solid var(--line)}\n"
    ".ev{margin:0 0 1rem;padding:0 0 0 1rem}\n"
    ".ev p{margin:0}\n"
    ".ev .when{color:var(--muted);font-size:.9375rem}\n"
    ".ev .what{font-weight:600}\n"
    ".text{overflow-wrap:anywhere;background:var(--soft);padding:.5rem .75rem;margin-top:.25rem;"
    "border-radius:4px}\n"
    ".scores{margin-bottom:1rem}\n"
    ".scores legend{font-weight:600;margin-bottom:.5rem}\n"
    ".choice{display:flex;align-items:center;min-height:48px}\n"
    ".choice input{width:1.5rem;height:1.5rem;margin:0 .75rem 0 0;flex:none}\n"
    ".choice label{flex:1;padding:.5rem 0}\n"
    ".rating{font-weight:600}\n"
    "@media (min-width:48em){body{font-size:1.125rem}h1{font-size:2.25rem}"
    "main{padding-top:2rem}button.primary,.button{width:auto}"
    ".facts{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1.5rem}"
    ".facts dt{margin:0}}\n";

const char *
page_css(size_t *len)
{
	if (len != NULL)
		*len = sizeof css - 1;
	return css;
}
